// go_client: one HTTP GET or one TCP dial, for the safesock compatibility kit.
//
//	go_client URL             GET URL (5 s timeout); "ok" if the body starts with "hello"
//	go_client dial HOST PORT  net.Dial("tcp", HOST:PORT) (5 s timeout); "ok" if connected
//
// Prints one line; exit 0 on ok, 1 on failure, 2 on bad usage.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func fail(format string, a ...interface{}) {
	fmt.Printf("error: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 1:
		// No proxy from the environment: every request goes straight to URL.
		tr := &http.Transport{Proxy: nil}
		c := &http.Client{Timeout: 5 * time.Second, Transport: tr}
		resp, err := c.Get(args[0])
		if err != nil {
			fail("%v", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			fail("reading body: %v", err)
		}
		if resp.StatusCode != 200 {
			fail("HTTP %d", resp.StatusCode)
		}
		if !bytes.HasPrefix(body, []byte("hello")) {
			fail("unexpected body %q", string(body[:min(len(body), 40)]))
		}
		fmt.Println("ok")
	case len(args) == 3 && args[0] == "dial":
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(args[1], args[2]), 5*time.Second)
		if err != nil {
			fail("%v", err)
		}
		conn.Close()
		fmt.Println("ok")
	default:
		fmt.Fprintln(os.Stderr, "usage: go_client URL | go_client dial HOST PORT")
		os.Exit(2)
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
