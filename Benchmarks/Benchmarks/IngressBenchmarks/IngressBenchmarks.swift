import Benchmark
import TunnelCore

/// Ingress matching against 1,000 rules: the indexed matcher used at runtime, and the rule-by-rule
/// scan (what cloudflared does) as the baseline in the same run. Times are per match
/// (`scalingFactor: .kilo`, 1,000 matches per iteration).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )

    let workload = IngressWorkload(ruleCount: 1_000)

    Benchmark("Ingress match 1000 rules, indexed") { benchmark in
        for i in benchmark.scaledIterations {
            let request = workload.requests[i % workload.requests.count]
            blackHole(workload.ingress.matchingRuleIndex(host: request.host, path: request.path))
        }
    }

    Benchmark("Ingress match 1000 rules, linear scan baseline") { benchmark in
        for i in benchmark.scaledIterations {
            let request = workload.requests[i % workload.requests.count]
            blackHole(workload.ingress.matchingRuleIndexByScanning(host: request.host, path: request.path))
        }
    }

    Benchmark("Ingress load and validate 1000 rules", configuration: .init(scalingFactor: .one)) { _ in
        blackHole(try Ingress(rules: workload.rules))
    }
}

/// A realistic large rule set: mostly exact hosts, some wildcards with and without literal path
/// prefixes, a few hosts with real regular expressions, and the final catch-all.
struct IngressWorkload: Sendable {
    let rules: [IngressRuleConfig]
    let ingress: Ingress
    let requests: [(host: String, path: String)]

    init(ruleCount: Int) {
        var rules: [IngressRuleConfig] = []
        let exact = ruleCount * 8 / 10
        let wildcard = ruleCount * 15 / 100
        for i in 0..<exact {
            rules.append(IngressRuleConfig(hostname: "svc\(i).example.com", service: "http://10.0.\(i / 250).\(i % 250):8080"))
        }
        for i in 0..<wildcard {
            rules.append(IngressRuleConfig(
                hostname: "*.team\(i).example.com", path: i.isMultiple(of: 2) ? "^/api/" : "",
                service: "https://10.1.\(i / 250).\(i % 250):8443"))
        }
        while rules.count < ruleCount - 1 {
            let i = rules.count
            rules.append(IngressRuleConfig(hostname: "re\(i).example.com", path: "^/v[0-9]+/(users|items)/", service: "http://10.2.0.1:\(i)"))
        }
        rules.append(IngressRuleConfig(service: "http_status:404"))
        self.rules = rules
        ingress = try! Ingress(rules: rules)
        requests = [
            ("svc3.example.com", "/"),
            ("svc401.example.com:443", "/index.html"),
            ("SVC799.Example.com", "/static/app.js"),
            ("a.team7.example.com", "/api/v1/users"),
            ("b.c.team140.example.com", "/home"),
            ("re990.example.com", "/v2/users/42"),
            ("re995.example.com", "/v2/other"),
            ("unknown.example.org", "/"),
        ]
    }
}
