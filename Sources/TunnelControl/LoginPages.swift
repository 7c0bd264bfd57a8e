/// The login pages: plain server-rendered HTML, no script, every control reachable with the
/// keyboard (labels on every field, the first field focused, one submit button per form).
enum LoginPages {
    /// Text safe inside HTML elements and double-quoted attributes.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · swift-tunnel</title>
        <style>
        body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d1f23; }
        main { max-width: 32rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 3px #0002; }
        h1 { font-size: 1.4rem; margin-top: 0; }
        label { display: block; font-weight: 600; margin-top: 1rem; }
        input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; border: 1px solid #888; border-radius: 4px; }
        fieldset { border: 1px solid #ccc; border-radius: 4px; margin-top: 1rem; }
        fieldset label { font-weight: normal; margin-top: .25rem; }
        button { margin-top: 1.5rem; padding: .6rem 1.2rem; font: inherit; border: 0; border-radius: 4px; background: #0b57d0; color: #fff; cursor: pointer; }
        button.secondary { background: #e3e6ea; color: #1d1f23; }
        :focus-visible { outline: 3px solid #f6ab00; outline-offset: 2px; }
        .alert { background: #fde8e8; border: 1px solid #d33; padding: .5rem .75rem; border-radius: 4px; }
        .code { font-family: ui-monospace, monospace; font-size: 1.2rem; letter-spacing: .1em; }
        </style>
        </head>
        <body>
        <main>
        <h1>\(escape(title))</h1>
        \(body)
        </main>
        </body>
        </html>

        """
    }

    static func codeLine(_ code: String) -> String {
        """
        <p>Login code: <strong class="code" id="login-code">\(escape(code))</strong>. \
        Go on only if the terminal where you ran <code>tunnelctl login</code> shows the same code.</p>
        """
    }

    static func signIn(callback: String, code: String, error: String? = nil, user: String = "") -> String {
        let alert = error.map { #"<p class="alert" role="alert">\#(escape($0))</p>"# } ?? ""
        return page(title: "Sign in to authorize tunnelctl", body: """
            \(codeLine(code))
            \(alert)
            <form method="post" action="/argotunnel/sign-in">
            <input type="hidden" name="callback" value="\(escape(callback))">
            <label for="user">User name</label>
            <input type="text" id="user" name="user" value="\(escape(user))" autocomplete="username" autofocus required>
            <label for="password">Password</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button>
            </form>
            """)
    }

    static func pickZone(user: User, accountName: String, zones: [Zone], callback: String, code: String, csrf: String) -> String {
        let choices = zones.enumerated().map { index, zone in
            """
            <label><input type="radio" name="zone" value="\(escape(zone.id))"\(index == 0 ? " checked autofocus" : "") required> \(escape(zone.name))</label>
            """
        }.joined(separator: "\n")
        let body: String
        if zones.isEmpty {
            body = "<p>The account \(escape(accountName)) has no zones yet: ask the edge administrator to add one.</p>"
        } else {
            body = """
                \(codeLine(code))
                <p>Signed in as <strong>\(escape(user.name))</strong> (account \(escape(accountName))). \
                Approving gives <code>tunnelctl</code> a cert.pem: an origin certificate for the zone you pick and \
                an API token that manages this account's tunnels as you.</p>
                <form method="post" action="/argotunnel/approve">
                <input type="hidden" name="callback" value="\(escape(callback))">
                <input type="hidden" name="csrf" value="\(escape(csrf))">
                <fieldset>
                <legend>Zone</legend>
                \(choices)
                </fieldset>
                <button type="submit">Approve</button>
                </form>
                """
        }
        return page(title: "Authorize tunnelctl", body: body)
    }

    static func approved(zone: String, certificateID: String, callback: String, csrf: String) -> String {
        page(title: "tunnelctl is authorized", body: """
            <p role="status" id="approved">Approved: the cert.pem for <strong>\(escape(zone))</strong> \
            (origin certificate <code>\(escape(certificateID))</code>) is ready. <code>tunnelctl login</code> \
            downloads it now; you may close this page.</p>
            <p>If the login runs elsewhere (cloudflared polls Cloudflare's own store, not this one), download it here instead. \
            It is handed out once, to whichever asks first.</p>
            <form method="post" action="/argotunnel/download">
            <input type="hidden" name="callback" value="\(escape(callback))">
            <input type="hidden" name="csrf" value="\(escape(csrf))">
            <button type="submit" class="secondary">Download cert.pem</button>
            </form>
            """)
    }

    static func problem(title: String, message: String) -> String {
        page(title: title, body: #"<p class="alert" role="alert">\#(escape(message))</p>"#)
    }
}
