import TunnelCore

/// libFuzzer entry point for TunnelCore's decoders of untrusted input. The first byte picks the
/// decoder, the rest is its input: 0 DNS message (a UDP answer from the network, and a query to
/// the edge's authoritative server), 1 PEM text and
/// cert.pem, 2 credentials JSON, 3 tunnel token, 4 config.yml. Errors are expected; traps and
/// sanitizer reports are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch selector % 5 {
    case 0:
        // The authoritative server answers whatever arrives, over UDP (with truncation) and TCP.
        _ = DNSAuthority.respond(to: bytes, data: fuzzZone, maxSize: 512)
        _ = DNSAuthority.respond(to: bytes, data: fuzzZone)
        guard let message = try? DNSMessage(bytes: bytes) else { return 0 }
        // Whatever decodes must re-encode (or fail with a typed error) and decode again.
        if let encoded = try? message.encoded() {
            _ = try? DNSMessage(bytes: encoded)
        }
    case 1:
        let text = String(decoding: bytes, as: UTF8.self)
        _ = PEMBlockScanner.blocks(in: text)
        _ = try? OriginCertificate(pemEncoded: text, path: "fuzz.pem")
    case 2:
        _ = try? TunnelCredentials(json: bytes, path: "fuzz.json")
    case 3:
        _ = try? TunnelToken(String(decoding: bytes, as: UTF8.self), source: "fuzz")
    default:
        _ = try? TunnelConfigFile.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.yml")
    }
    return 0
}

/// A small zone for the authority: a route, an apex CNAME, a wildcard and the tunnel domain.
let fuzzZone = DNSZoneData(
    zones: ["example.test", "tunnels.test"],
    records: [
        "app.example.test": [.cname("0e1f.tunnels.test")], "example.test": [.cname("0e1f.tunnels.test")],
        "*.wild.example.test": [.cname("0e1f.tunnels.test")], "*.tunnels.test": [.a([127, 0, 0, 1]), .aaaa(Array(repeating: 0, count: 15) + [1])],
        "txt.example.test": [.txt(["v=1"])],
    ],
    nameServers: ["ns.tunnels.test"], mailbox: "hostmaster.tunnels.test")
