// java Client.java URL -- one GET with HttpURLConnection, 5 s timeouts, no proxy.
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.URL;
import java.nio.charset.StandardCharsets;

public class Client {
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: java Client.java URL");
            System.exit(2);
        }
        try {
            HttpURLConnection c = (HttpURLConnection) new URL(args[0]).openConnection(Proxy.NO_PROXY);
            c.setConnectTimeout(5000);
            c.setReadTimeout(5000);
            int status = c.getResponseCode();
            if (status != 200) {
                System.out.println("error: HTTP " + status);
                System.exit(1);
            }
            String body;
            try (InputStream in = c.getInputStream()) {
                body = new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
            }
            if (!body.startsWith("hello")) {
                System.out.println("error: unexpected body " + body.substring(0, Math.min(40, body.length())));
                System.exit(1);
            }
            System.out.println("ok");
        } catch (Exception e) {
            System.out.println("error: " + e);
            System.exit(1);
        }
    }
}
