# ruby_client.rb URL -- one GET with Net::HTTP (Debian package ruby), 5 s timeouts, no proxy.
require 'net/http'
require 'uri'

if ARGV.length != 1
  warn 'usage: ruby_client.rb URL'
  exit 2
end
begin
  u = URI(ARGV[0])
  h = Net::HTTP.new(u.hostname, u.port, nil) # nil: no proxy, not even from ENV
  h.open_timeout = 5
  h.read_timeout = 5
  r = h.start { |http| http.get(u.path.empty? ? '/' : u.path) }
  raise "HTTP #{r.code}" unless r.code == '200'
  raise "unexpected body #{r.body[0, 40].inspect}" unless r.body.start_with?('hello')
  puts 'ok'
rescue StandardError => e
  puts "error: #{e.class}: #{e.message}"
  exit 1
end
