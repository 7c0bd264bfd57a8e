/// Aligns tab-separated rows as Go's `text/tabwriter` does with cloudflared's settings (minimum
/// width 0, padding 1, spaces): every cell ends with a tab, so each column is as wide as its
/// longest cell plus one space and every table line ends with a space. Lines without a tab
/// (banners) are printed as they are.
struct TabWriter {
    private var lines: [String] = []

    mutating func row(_ cells: [String]) {
        lines.append(cells.map { $0 + "\t" }.joined())
    }

    mutating func line(_ text: String) {
        lines.append(text)
    }

    /// The aligned text, one `\n` per line.
    func render() -> String {
        var output = ""
        var index = 0
        while index < lines.count {
            guard lines[index].contains("\t") else {
                output += lines[index] + "\n"
                index += 1
                continue
            }
            // A block of consecutive tabbed lines shares its column widths.
            var end = index
            while end < lines.count, lines[end].contains("\t") { end += 1 }
            let block = lines[index..<end].map { $0.split(separator: "\t", omittingEmptySubsequences: false).dropLast().map(String.init) }
            var widths: [Int] = []
            for cells in block {
                for (column, cell) in cells.enumerated() {
                    if column >= widths.count { widths.append(0) }
                    widths[column] = max(widths[column], cell.count)
                }
            }
            for cells in block {
                var line = ""
                for (column, cell) in cells.enumerated() {
                    line += cell + String(repeating: " ", count: widths[column] - cell.count + 1)
                }
                output += line + "\n"
            }
            index = end
        }
        return output
    }
}
