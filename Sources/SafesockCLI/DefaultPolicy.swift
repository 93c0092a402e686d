// The built-in policy of `safesock run` when no --policy is given. The same
// text is policies/default.cfg; a test keeps the two identical.

public enum DefaultPolicy {
    /// How commands name it in place of a policy file.
    public static let name = "builtin:default"

    public static let text = """
    # default.cfg -- the built-in policy of `safesock run` with no --policy.
    #
    # The manual page's SECURITY advice, applied: connect back to the
    # program's origin (as the plugin's home policy does), on unprivileged
    # ports only, and nowhere else. With no origin injected it allows nothing.
    # Redirecting services (proxies, SOCKS) are refused even on the origin,
    # because through them a program reaches hosts this policy never named.
    # SMTP and NNTP (25, 465, 587, 119, 563) are privileged ports, so closed.

    section hosts ports
        allow     $originSocketHost  >1023
        disallow  *                  1080
        disallow  *                  3128
        disallow  *                  8080
        disallow  *                  8118

    # Clients (curl, Python's ssl) call getpeername(2) for their own use
    # and give up on an error: the peer is masked, not refused. A name
    # rule added to this policy never leads to a loopback, private or
    # cloud metadata address (the origin is exempt).
    section options
        peername      mask
        privateNames  deny

    """
}
