import Testing
import TunnelCore

@Suite struct ConfigFileTests {
    static let realistic = """
        tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef
        credentials-file: /etc/cloudflared/6ff42ae2-765d-4adf-8112-31c55c1551ef.json
        loglevel: info
        metrics: localhost:20241
        protocol: quic
        edge-ip-version: "auto"
        grace-period: 30s
        retries: 7
        no-autoupdate: true
        tag: [env=prod, team=web]
        originRequest:
          connectTimeout: 10s
          keepAliveTimeout: 1m30s
          proxyPort: 8081
        warp-routing:
          connectTimeout: 3s
          maxActiveFlows: 100
        ingress:
          - hostname: app.example.com
            service: http://localhost:8000
          - hostname: "*.example.com"
            path: ^/api/
            service: https://localhost:8443
            originRequest:
              noTLSVerify: true
              originServerName: api.internal
              caPool: /etc/ca.pem
              http2Origin: yes
              access:
                required: true
                teamName: myteam
                audTag: [aud1, aud2]
          - hostname: socks.example.com
            service: socks-proxy
            originRequest:
              ipRules:
                - prefix: 10.0.0.0/8
                  ports: [22, 443]
                  allow: true
          - hostname: ssh.example.com
            service: ssh://localhost:22
          - service: http_status:404
        """

    @Test func parsesEveryBlock() throws {
        let file = try #require(try TunnelConfigFile.parse(Self.realistic, path: "config.yml"))
        #expect(file.tunnel == "6ff42ae2-765d-4adf-8112-31c55c1551ef")
        #expect(file.flagValues["loglevel"] == .string("info"))
        #expect(file.flagValues["retries"] == .int(7))
        #expect(file.flagValues["no-autoupdate"] == .bool(true))
        #expect(file.flagValues["grace-period"] == .string("30s"))
        #expect(file.flagValues["tag"] == .list([.string("env=prod"), .string("team=web")]))
        #expect(file.originRequest.connectTimeout == .seconds(10))
        #expect(file.originRequest.keepAliveTimeout == .seconds(90))
        #expect(file.originRequest.proxyPort == 8081)
        #expect(file.warpRouting == WarpRoutingOptions(connectTimeout: .seconds(3), maxActiveFlows: 100))
        #expect(file.warpRouting.effective.tcpKeepAlive == .seconds(30))
        #expect(file.ingress.count == 5)
        #expect(file.ingress[1].originRequest.http2Origin == true)
        #expect(file.ingress[1].originRequest.access == AccessConfiguration(required: true, teamName: "myteam", audTags: ["aud1", "aud2"]))
        #expect(file.ingress[2].originRequest.ipRules == [IPRule(prefix: "10.0.0.0/8", ports: [22, 443], allow: true)])
        #expect(file.warnings.isEmpty)
        _ = try Ingress(configuration: file)
    }

    @Test func roundTrip() throws {
        let file = try #require(try TunnelConfigFile.parse(Self.realistic, path: "config.yml"))
        let encoded = file.yamlString()
        let again = try #require(try TunnelConfigFile.parse(encoded, path: "again.yml"))
        #expect(again == file)
        // And a second pass is stable text.
        #expect(again.yamlString() == encoded)
    }

    @Test func roundTripOfTrickyStrings() throws {
        let file = TunnelConfigFile(
            tunnel: "yes",
            ingress: [
                IngressRuleConfig(hostname: "*.example.com", path: "^/a: b#c$", service: "http://x:1"),
                IngressRuleConfig(service: "http_status:404"),
            ],
            originRequest: OriginRequestOptions(connectTimeout: .milliseconds(1500), httpHostHeader: "123"),
            flagValues: ["edge-ip-version": .string("4"), "f": .float(1.5), "n": .null, "m": .map(["k": .bool(false)])])
        let again = try #require(try TunnelConfigFile.parse(file.yamlString(), path: "x"))
        #expect(again == file)
    }

    @Test func unknownKeysWarnWithLines() throws {
        let yaml = """
            tunnel: abc
            totally-unknown-top-level: 1
            Ingress: ignored
            warp-routing:
              enabled: true
            originRequest:
              connectTimout: 5s
            ingress:
              - hostname: a.example.com
                Hostname: b.example.com
                service: http://localhost:1
                originRequest:
                  access:
                    teamname: x
                  ipRules:
                    - prefix: 10.0.0.0/8
                      port: 22
              - service: http_status:404
            """
        let file = try #require(try TunnelConfigFile.parse(yaml, path: "c.yml"))
        #expect(file.warnings.map(\.description) == [
            "line 5: field enabled not found in type config.WarpRoutingConfig",
            "line 7: field connectTimout not found in type config.OriginRequestConfig",
            "line 10: field Hostname not found in type config.UnvalidatedIngressRule",
            "line 14: field teamname not found in type config.AccessConfig",
            "line 17: field port not found in type config.IngressIPRule",
        ])
        // Unknown top-level keys are flag keys, never warnings; `Ingress:` is not `ingress:`.
        #expect(file.flagValues["Ingress"] == .string("ignored"))
        #expect(file.ingress.count == 2)
    }

    @Test func typeErrorsNameLineAndType() throws {
        let yaml = """
            originRequest:
              connectTimeout: 30
              keepAliveConnections: "5"
              proxyPort: -1
              noTLSVerify: maybe
            ingress:
              - service: http_status:404
            """
        #expect(throws: ConfigurationError.self) { try TunnelConfigFile.parse(yaml, path: "c.yml") }
        do {
            _ = try TunnelConfigFile.parse(yaml, path: "c.yml")
        } catch {
            #expect(error.description == """
                error parsing YAML in config file at c.yml: yaml: unmarshal errors:
                  line 2: cannot unmarshal !!int `30` into time.Duration
                  line 3: cannot unmarshal !!str `5` into int
                  line 4: cannot unmarshal !!int `-1` into uint
                  line 5: cannot unmarshal !!str `maybe` into bool
                """)
        }
    }

    @Test func syntaxErrorsAndDuplicates() throws {
        do {
            _ = try TunnelConfigFile.parse("ingress:\n  - service: a\n  bad: [\n", path: "c.yml")
            Issue.record("parsed")
        } catch {
            #expect(error.description.hasPrefix("error parsing YAML in config file at c.yml: yaml: line "))
        }
        do {
            _ = try TunnelConfigFile.parse("tunnel: a\ningress: []\nloglevel: info\ningress: []\n", path: "c.yml")
            Issue.record("parsed")
        } catch {
            #expect(error.description == """
                error parsing YAML in config file at c.yml: yaml: unmarshal errors:
                  line 4: mapping key "ingress" already defined at line 2
                """)
        }
    }

    @Test func emptyDocumentsMeanNoFile() throws {
        #expect(try TunnelConfigFile.parse("", path: "c.yml") == nil)
        #expect(try TunnelConfigFile.parse("# only a comment\n\n", path: "c.yml") == nil)
    }

    @Test func onlyFirstDocumentIsRead() throws {
        let file = try #require(try TunnelConfigFile.parse("tunnel: one\n---\ntunnel: two\n", path: "c.yml"))
        #expect(file.tunnel == "one")
    }

    @Test func jsonInputWithTabs() throws {
        let json = "{\n\t\"tunnel\": \"t\",\n\t\"originRequest\": {\"tlsTimeout\": \"5s\"},\n\t\"ingress\": [\n\t\t{\"hostname\": \"a.example.com\", \"service\": \"http://localhost:1\"},\n\t\t{\"service\": \"http_status:404\"}\n\t]\n}\n"
        let file = try #require(try TunnelConfigFile.parse(json, path: "c.json"))
        #expect(file.tunnel == "t")
        #expect(file.originRequest.tlsTimeout == .seconds(5))
        #expect(file.ingress.count == 2)
    }

    @Test func yaml11BooleansOnlyInTypedBlocks() throws {
        let file = try #require(try TunnelConfigFile.parse("no-autoupdate: yes\noriginRequest:\n  noTLSVerify: on\n", path: "c.yml"))
        #expect(file.flagValues["no-autoupdate"] == .string("yes"))
        #expect(file.originRequest.noTLSVerify == true)
    }

    @Test func unreadableFile() throws {
        #expect(throws: ConfigurationError.fileUnreadable(path: "/nonexistent/config.yml", reason: "")) {
            try TunnelConfigFile.load(path: "/nonexistent/config.yml")
        }
        do {
            _ = try TunnelConfigFile.load(path: "/nonexistent/config.yml")
        } catch {
            #expect(error.description == "open /nonexistent/config.yml: no such file or directory")
        }
    }
}
