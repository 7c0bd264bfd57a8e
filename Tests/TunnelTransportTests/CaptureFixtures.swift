import Foundation
import NIOCore
import TunnelTransport

/// The golden captures and the inputs cloudflared used when it produced them (captures/README in the spec).
enum CaptureFixtures {
    static let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixturesDirectory.appendingPathComponent(name)))
    }

    static func connectorToEdge() throws -> [UInt8] { try bytes("registration-connector-to-edge.bin") }
    static func edgeToConnector() throws -> [UInt8] { try bytes("registration-edge-to-connector.bin") }

    /// Splits a capture into framed messages (as byte arrays, frame header included).
    static func frames(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var decoder = CapnpFrameDecoder()
        decoder.append(bytes)
        var frames: [[UInt8]] = []
        while let message = try decoder.next() {
            frames.append(message.framedBytes)
        }
        precondition(decoder.bufferedByteCount == 0)
        return frames
    }

    static let accountTag = "0123456789abcdef0123456789abcdef"
    static let tunnelSecret = Array(Data(base64Encoded: "L/+zu2cglVDiqMY5DwWMUx9cLtYkndYXHF7inh6d2dI=")!)
    static let tunnelID = UUID(uuidString: "d4e2fa18-d251-4c06-9b51-1ef2fd26967d")!
    static let clientID = UUID(uuidString: "b11a003c-6f27-465c-b1bc-6dfc2e48ca6b")!
    static let connectionUUID = UUID(uuidString: "8825d73a-cb84-4927-bd19-8144d26bd34b")!
    static let features = ["allow_remote_config", "serialized_headers", "support_datagram_v2", "support_quic_eof", "management_logs"]
    static let originLocalIP: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]
    static let configJSON = #"{"__configuration_flags":{"edge-ip-version":"4","loglevel":"debug","metrics":"127.0.0.1:20241","no-autoupdate":"true","protocol":"http2"},"ingress":[{"service":"http://127.0.0.1:8099","originRequest":{}}],"warp-routing":{}}"#

    static var auth: TunnelAuth { TunnelAuth(accountTag: accountTag, tunnelSecret: tunnelSecret) }

    static var options: ConnectionOptions {
        ConnectionOptions(
            client: ClientInfo(clientID: bytes(of: clientID), features: features, version: "2026.8.2-local", arch: "linux_amd64"),
            originLocalIP: originLocalIP)
    }

    static var registerParams: RegisterConnectionParams {
        RegisterConnectionParams(auth: auth, tunnelID: bytes(of: tunnelID), connIndex: 0, options: options)
    }

    static var details: ConnectionDetails {
        ConnectionDetails(uuid: bytes(of: connectionUUID), locationName: "LAB1", tunnelIsRemotelyManaged: false)
    }

    static func bytes(of uuid: UUID) -> [UInt8] {
        withUnsafeBytes(of: uuid.uuid) { Array($0) }
    }

    static func hex(_ text: String) -> [UInt8] {
        let clean = text.filter { $0.isHexDigit }
        var out: [UInt8] = []
        var index = clean.startIndex
        while index < clean.endIndex {
            let next = clean.index(index, offsetBy: 2)
            out.append(UInt8(clean[index..<next], radix: 16)!)
            index = next
        }
        return out
    }
}
