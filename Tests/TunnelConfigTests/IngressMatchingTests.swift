import Testing
import TunnelCore

@Suite struct IngressMatchingTests {
    static let yaml = """
        ingress:
          - hostname: app.example.com
            service: http://localhost:8000
          - hostname: "*.example.com"
            path: ^/api/
            service: https://localhost:8443
          - hostname: "*.example.com"
            service: http://localhost:8001
          - hostname: static.example.org
            path: \\.(css|js)$
            service: http://localhost:9000
          - hostname: static.example.org
            service: http://localhost:9001
          - hostname: môô.cloudflare.com
            service: http://localhost:9002
          - hostname: Up.Example.net
            service: http://localhost:9003
          - hostname: "*"
            path: ^/health$
            service: http_status:200
          - hostname: "*foo.com"
            service: http://localhost:9004
          - path: "(?i)^/ADMIN"
            service: http_status:403
          - hostname: "*.bücher.example"
            service: http://localhost:9005
          - service: http_status:404
        """

    static let ingress: Ingress = {
        let file = try! TunnelConfigFile.parse(yaml, path: "config.yml")!
        return try! Ingress(configuration: file)
    }()

    struct Case: CustomTestStringConvertible, Sendable {
        var host: String
        var path: String
        var expected: Int
        var testDescription: String { "\(host) \(path) → #\(expected)" }
        init(_ host: String, _ path: String, _ expected: Int) {
            self.host = host
            self.path = path
            self.expected = expected
        }
    }

    static let cases: [Case] = [
        Case("app.example.com", "/", 0),
        Case("APP.example.com", "/", 0),
        Case("app.example.com:8443", "/x", 0),
        Case("app.example.com", "/api/v1", 0),
        Case("app.example.com", "/health", 0),
        Case("app.example.com:", "/", 0),
        Case("foo.example.com", "/api/v1", 1),
        Case("foo.example.com:443", "/api/x", 1),
        Case("a.b.example.com", "/api/", 1),
        Case("foo.example.com", "/apiv1", 2),
        Case("foo.example.com", "/", 2),
        Case("foo.example.com", "/API/", 2),
        Case("ssh.example.com", "/", 2),
        Case(".example.com", "/", 2),
        Case("FOO.EXAMPLE.COM", "/api/z", 1),
        Case("static.example.org", "/main.css", 3),
        Case("static.example.org", "/js/app.js", 3),
        Case("STATIC.EXAMPLE.ORG", "/a.js", 3),
        Case("static.example.org", "/main.cssx", 4),
        Case("static.example.org", "/", 4),
        Case("static.example.org", "/health", 4),
        Case("xn--m-xgaa.cloudflare.com", "/", 5),
        Case("môô.cloudflare.com", "/", 5),
        Case("MÔÔ.cloudflare.com", "/", 5),
        Case("XN--M-XGAA.cloudflare.com:8080", "/", 5),
        Case("up.example.net", "/", 6),
        Case("Up.Example.net", "/", 6),
        Case("UP.EXAMPLE.NET:80", "/", 6),
        Case("example.com", "/health", 7),
        Case("other.example.org", "/health", 7),
        Case("[::1]:8080", "/health", 7),
        Case("example.com", "/health/", 11),
        Case("*foo.com", "/", 8),
        Case("barfoo.com", "/", 11),
        Case("anything.test", "/admin", 9),
        Case("anything.test", "/Admin/x", 9),
        Case("anything.test", "/x/admin", 11),
        Case("shop.bücher.example", "/", 10),
        Case("shop.xn--bcher-kva.example", "/", 10),
        Case("SHOP.BÜCHER.EXAMPLE:443", "/", 10),
        Case("bücher.example", "/", 11),
        Case("example.com", "/", 11),
        Case("", "/", 11),
        Case("::1", "/x", 11),
        Case("app.example.com.evil.org", "/", 11),
        Case("evilexample.com", "/", 11),
        Case("a.example.com.", "/", 11),
    ]

    @Test(arguments: cases)
    func matches(_ c: Case) {
        #expect(Self.ingress.matchingRuleIndex(host: c.host, path: c.path) == c.expected)
        #expect(Self.ingress.matchingRuleIndexByScanning(host: c.host, path: c.path) == c.expected)
    }

    @Test func indexAgreesWithScanningOnGeneratedRequests() throws {
        var rules: [IngressRuleConfig] = []
        for i in 0..<200 {
            switch i % 4 {
            case 0: rules.append(IngressRuleConfig(hostname: "h\(i % 37).example.com", service: "http://o:\(i)"))
            case 1: rules.append(IngressRuleConfig(hostname: "*.z\(i % 11).example.com", path: "^/p\(i % 5)", service: "http://o:\(i)"))
            case 2: rules.append(IngressRuleConfig(hostname: "*", path: "q\(i % 7)$", service: "http://o:\(i)"))
            default: rules.append(IngressRuleConfig(hostname: "*.example.com", path: "^/(a|b)\(i % 9)", service: "http://o:\(i)"))
            }
        }
        rules.append(IngressRuleConfig(service: "http_status:404"))
        let ingress = try Ingress(rules: rules)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let host = ["h\(Int.random(in: 0..<40, using: &generator)).example.com",
                        "x.z\(Int.random(in: 0..<12, using: &generator)).example.com",
                        "other.org", "deep.y.example.com"].randomElement(using: &generator)!
            let path = ["/p\(Int.random(in: 0..<6, using: &generator))/x", "/a\(Int.random(in: 0..<10, using: &generator))",
                        "/zq\(Int.random(in: 0..<8, using: &generator))", "/"].randomElement(using: &generator)!
            #expect(ingress.matchingRuleIndex(host: host, path: path) == ingress.matchingRuleIndexByScanning(host: host, path: path))
        }
    }

    @Test func singleRuleCatchAll() throws {
        let ingress = try Ingress(rules: [IngressRuleConfig(service: "http://localhost:8080")])
        #expect(ingress.matchingRuleIndex(host: "anything", path: "/") == 0)
        #expect(Ingress.serviceUnavailable.matchingRule(host: "x", path: "/").service == .httpStatus(503))
    }

    @Test func testURLArguments() throws {
        #expect(try Ingress.testRequest(forURL: "https://app.example.com:8443/x?y=1") == ("app.example.com", "/x"))
        #expect(try Ingress.testRequest(forURL: "http://[::1]:80/p%20q") == ("::1", "/p q"))
        // Scheme-less host:port parses as scheme + opaque: no host, no path.
        #expect(try Ingress.testRequest(forURL: "app.example.com:8443") == ("", ""))
        #expect(throws: IngressTestURLError.self) { try Ingress.testRequest(forURL: "app.example.com") }
        do {
            _ = try Ingress.testRequest(forURL: "app.example.com")
        } catch {
            #expect(error.description == "app.example.com doesn't have a hostname, consider adding a scheme")
        }
        do {
            _ = try Ingress.testRequest(forURL: "http://a b/")
        } catch {
            #expect(error.description == "http://a b/ is not a valid URL")
        }
    }
}
