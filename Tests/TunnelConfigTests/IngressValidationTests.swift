import Testing
import TunnelCore

@Suite struct IngressValidationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var rules: String
        var message: String
        var ruleIndex: Int?
        var testDescription: String { message }
    }

    static func ingressError(_ rulesYAML: String) throws -> ConfigurationError? {
        let file = try #require(try TunnelConfigFile.parse("ingress:\n" + rulesYAML, path: "c.yml"))
        do {
            _ = try Ingress(configuration: file)
            return nil
        } catch {
            return error
        }
    }

    static let catchAll = "  - service: http_status:404\n"

    static let cases: [Case] = [
        Case(rules: "  - service: http_status:abc\n", message: #"invalid HTTP status code: strconv.Atoi: parsing "abc": invalid syntax"#, ruleIndex: 0),
        Case(rules: "  - service: http_status:99\n", message: "invalid HTTP status code: 99", ruleIndex: 0),
        Case(rules: "  - service: http_status:1000\n", message: "invalid HTTP status code: 1000", ruleIndex: 0),
        Case(rules: "  - hostname: s.example.com\n    service: socks-proxy\n    originRequest:\n      ipRules:\n        - allow: true\n" + catchAll,
             message: "unable to create ip rule for socks-proxy: no prefix provided", ruleIndex: 0),
        Case(rules: "  - hostname: s.example.com\n    service: socks-proxy\n    originRequest:\n      ipRules:\n        - prefix: 10.0.0.0/33\n" + catchAll,
             message: "unable to create ip rule for socks-proxy: unable to parse cidr: 10.0.0.0/33", ruleIndex: 0),
        Case(rules: "  - hostname: s.example.com\n    service: socks-proxy\n    originRequest:\n      ipRules:\n        - prefix: 10.0.0.0/8\n          ports: [80, 0]\n" + catchAll,
             message: "unable to create ip rule for socks-proxy: invalid port 0, needs to be between 1 and 65535", ruleIndex: 0),
        Case(rules: "  - service: https://local host:8000\n", message: #"parse "https://local host:8000": invalid character " " in host name"#, ruleIndex: 0),
        Case(rules: "  - service: http://localhost:80x\n", message: #"parse "http://localhost:80x": invalid port ":80x" after host"#, ruleIndex: 0),
        Case(rules: "  - hostname: a.example.com\n    service: localhost:8000\n" + catchAll,
             message: "localhost:8000 is an invalid address, please make sure it has a scheme and a hostname", ruleIndex: 0),
        Case(rules: "  - hostname: a.example.com\n" + catchAll,
             message: " is an invalid address, please make sure it has a scheme and a hostname", ruleIndex: 0),
        Case(rules: "  - service: http://localhost:8000/\n",
             message: "http://localhost:8000/ is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path", ruleIndex: 0),
        Case(rules: "  - hostname: a.example.com\n    service: http://localhost:8000\n  - service: https://localhost/app\n",
             message: "https://localhost/app is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path", ruleIndex: 1),
        Case(rules: "  - hostname: a.example.com\n    service: http://localhost:8000\n    originRequest:\n      access:\n        required: true\n        audTag: [abc]\n" + catchAll,
             message: "access.TeamName cannot be blank when access.audTags are present", ruleIndex: 0),
        Case(rules: "  - hostname: a.example.com:8080\n    service: http://localhost:8000\n" + catchAll, message: "Hostname cannot contain a port", ruleIndex: 0),
        Case(rules: "  - hostname: \"[::1]:80\"\n    service: http://localhost:8000\n" + catchAll, message: "Hostname cannot contain a port", ruleIndex: 0),
        Case(rules: "  - hostname: test.*.example.com\n    service: http://localhost:8000\n" + catchAll,
             message: #"Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com""#, ruleIndex: 0),
        Case(rules: "  - hostname: \"**.example.com\"\n    service: http://localhost:8000\n" + catchAll,
             message: #"Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com""#, ruleIndex: 0),
        Case(rules: "  - hostname: a.example.com\n    service: http://localhost:8000\n",
             message: "The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)", ruleIndex: 0),
        Case(rules: "  - path: ^/x\n    service: http://localhost:8000\n",
             message: "The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)", ruleIndex: 0),
        Case(rules: "  - hostname: \"*\"\n    service: http://localhost:8000\n" + catchAll,
             message: "Rule #1 is matching the hostname '*', but this will match every hostname, meaning the rules which follow it will never be triggered.", ruleIndex: 0),
        Case(rules: "  - hostname: a.example.com\n    service: http://localhost:8000\n  - service: http://localhost:8001\n" + catchAll,
             message: "Rule #2 is matching the hostname '', but this will match every hostname, meaning the rules which follow it will never be triggered.", ruleIndex: 1),
        Case(rules: "  - hostname: a.example.com\n    path: \"(\"\n    service: http://localhost:8000\n" + catchAll,
             message: "Rule #1 has an invalid regex: error parsing regexp: missing closing ): `(`", ruleIndex: 0),
        Case(rules: "  - hostname: a.example.com\n    service: http://localhost:8000\n  - hostname: b.example.com\n    path: \"a**\"\n    service: http://localhost:8000\n" + catchAll,
             message: "Rule #2 has an invalid regex: error parsing regexp: invalid nested repetition operator: `**`", ruleIndex: 1),
        // Service is checked before the hostname, as in cloudflared.
        Case(rules: "  - hostname: a.example.com:1\n    service: http_status:5\n" + catchAll, message: "invalid HTTP status code: 5", ruleIndex: 0),
    ]

    @Test(arguments: cases)
    func rejects(_ c: Case) throws {
        let error = try #require(try Self.ingressError(c.rules))
        #expect(error.description == c.message)
        #expect(error.ruleIndex == c.ruleIndex)
    }

    @Test func noRules() throws {
        let file = try #require(try TunnelConfigFile.parse("tunnel: x\n", path: "c.yml"))
        #expect(throws: ConfigurationError.noIngressRules()) { try Ingress(configuration: file) }
        #expect(ConfigurationError.noIngressRules().description == "The config file doesn't contain any ingress rules")
    }

    @Test func errorsCarryOffendingValue() throws {
        let error = try #require(try Self.ingressError("  - hostname: a.example.com:8080\n    service: http://x\n" + Self.catchAll))
        #expect(error == .hostnameContainsPort(ruleIndex: 0, hostname: "a.example.com:8080"))
        #expect(error.offendingValue == "a.example.com:8080")
    }

    @Test func acceptedForms() throws {
        let rules = """
              - hostname: "*foo.com"
                service: unix:/run/app.sock
              - hostname: a.example.com
                service: unix+tls:/run/tls.sock
              - hostname: b.example.com
                service: hello-world
              - hostname: c.example.com
                service: ssh://localhost
              - hostname: d.example.com
                service: rdp://10.0.0.5
              - hostname: e.example.com
                service: smb://fs
              - hostname: f.example.com
                service: tcp://db:5432
              - hostname: g.example.com
                service: ftp://files
              - hostname: h.example.com
                service: wss://ws.internal:9443
              - hostname: i.example.com
                originRequest:
                  bastionMode: true
              - hostname: j.example.com
                service: socks-proxy
                originRequest:
                  ipRules:
                    - prefix: 10.0.0.0/8
                      ports: [80, 443]
                      allow: true
                    - prefix: "::/0"
              - hostname: k.example.com
                service: bastion
              - service: http_status:404

            """
        let file = try #require(try TunnelConfigFile.parse("ingress:\n" + rules, path: "c.yml"))
        let ingress = try Ingress(configuration: file)
        #expect(ingress.rules.map(\.service.description) == [
            "unix:/run/app.sock", "unix+tls:/run/tls.sock", "hello_world", "ssh://localhost:22",
            "rdp://10.0.0.5:3389", "smb://fs:445", "tcp://db:5432", "ftp://files", "wss://ws.internal:9443",
            "bastion", "socks-proxy", "bastion", "http_status:404",
        ])
    }

    @Test func globalBastionModeTurnsURLRulesIntoBastions() throws {
        let yaml = """
            originRequest:
              bastionMode: true
            ingress:
              - hostname: a.example.com
                service: http://localhost:8000
              - hostname: b.example.com
                service: unix:/x
              - service: http_status:404
            """
        let ingress = try Ingress(configuration: try #require(try TunnelConfigFile.parse(yaml, path: "c.yml")))
        #expect(ingress.rules.map(\.service) == [.bastion, .unixSocket(path: "/x", tls: false), .httpStatus(404)])
    }

    @Test func originRequestMerging() throws {
        let yaml = """
            originRequest:
              connectTimeout: 10s
              noTLSVerify: true
              ipRules:
                - prefix: 10.0.0.0/8
              access:
                required: true
                teamName: global
            ingress:
              - hostname: a.example.com
                service: https://localhost:8443
                originRequest:
                  noTLSVerify: false
                  keepAliveTimeout: 2m
                  httpHostHeader: internal.example
              - service: http://localhost:8000
            """
        let ingress = try Ingress(configuration: try #require(try TunnelConfigFile.parse(yaml, path: "c.yml")))
        let first = ingress.rules[0].originRequest
        #expect(first.connectTimeout == .seconds(10))
        #expect(first.noTLSVerify == false)
        #expect(first.keepAliveTimeout == .seconds(120))
        #expect(first.httpHostHeader == "internal.example")
        #expect(first.tlsTimeout == .seconds(10))
        #expect(first.ipRules == [IPRule(prefix: "10.0.0.0/8")])
        #expect(first.access?.teamName == "global")
        let second = ingress.rules[1].originRequest
        #expect(second.noTLSVerify == true)
        #expect(second.keepAliveTimeout == .seconds(90))
        #expect(second.keepAliveConnections == 100)
        #expect(second.proxyAddress == "127.0.0.1")
    }

    @Test func multiLineDescription() throws {
        let yaml = """
            ingress:
              - hostname: "*.example.com"
                path: ^/api/
                service: ssh://localhost
              - service: http_status:404
            """
        let ingress = try Ingress(configuration: try #require(try TunnelConfigFile.parse(yaml, path: "c.yml")))
        #expect(ingress.rules[0].multiLineDescription == "\thostname: *.example.com\n\tpath: ^/api/\n\tservice: ssh://localhost:22")
        #expect(ingress.rules[1].multiLineDescription == "\tservice: http_status:404")
    }
}
