// swift-tools-version:6.1
// libFuzzer targets for TunnelTransport's Cap'n Proto reader and RPC dispatcher, and TunnelCore's decoders. See Docs/fuzzing.md.
import Foundation
import PackageDescription

// A path dependency's identity is its folder name (lowercased), which differs between checkouts.
let rootIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "swift-tunnel-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "CapnpReaderFuzz",
            dependencies: [.product(name: "TunnelTransport", package: rootIdentity)],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        ),
        .executableTarget(
            name: "CoreDecodersFuzz",
            dependencies: [.product(name: "TunnelCore", package: rootIdentity)],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        ),
        .executableTarget(
            name: "RPCDispatchFuzz",
            dependencies: [
                .product(name: "TunnelTransport", package: rootIdentity),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
