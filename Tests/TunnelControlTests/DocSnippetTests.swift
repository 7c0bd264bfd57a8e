import Foundation
import Testing

/// Every ```swift block in README.md, Docs/ and the DocC catalogs is compiled: it must appear,
/// line for line (indentation, blank lines and imports aside), in DocSnippets.swift, which
/// the test target builds.
@Suite("documentation snippets")
struct DocSnippetTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The lines that count: trimmed, without blank lines and imports.
    static func normalized(_ text: some StringProtocol) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("import ") }
    }

    /// The ```swift blocks of a Markdown file.
    static func swiftBlocks(in text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```swift" {
                current = []
            } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    static func markdownFiles() throws -> [URL] {
        var files = [root.appendingPathComponent("README.md")]
        for name in try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Docs").path) where name.hasSuffix(".md") {
            files.append(root.appendingPathComponent("Docs/\(name)"))
        }
        let sources = root.appendingPathComponent("Sources")
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path) {
            let catalog = sources.appendingPathComponent("\(module)/\(module).docc")
            for name in (try? FileManager.default.contentsOfDirectory(atPath: catalog.path)) ?? [] where name.hasSuffix(".md") {
                files.append(catalog.appendingPathComponent(name))
            }
        }
        return files
    }

    @Test("every swift snippet of the docs is in DocSnippets.swift, which compiles")
    func snippetsCompile() throws {
        let compiled = Self.normalized(try String(contentsOf: Self.root.appendingPathComponent("Tests/TunnelControlTests/DocSnippets.swift"), encoding: .utf8))
        var checked = 0
        for file in try Self.markdownFiles() {
            for block in Self.swiftBlocks(in: try String(contentsOf: file, encoding: .utf8)) {
                let lines = Self.normalized(block)
                guard !lines.isEmpty else { continue }
                let found = compiled.indices.contains { start in
                    start + lines.count <= compiled.count && Array(compiled[start..<start + lines.count]) == lines
                }
                #expect(found, "a snippet of \(file.lastPathComponent) is not in DocSnippets.swift (add it there so it compiles):\n\(block)")
                checked += 1
            }
        }
        #expect(checked >= 15)
    }
}
