#pragma once
// Printing meta.k8s.io/v1 Tables the way kubectl does: uppercase headers, priority-0 columns
// (all columns with -o wide), cells padded to the widest cell plus three spaces (at least six),
// the last column unpadded; a NAMESPACE column first with -A, a LABELS column last with
// --show-labels, and "kind/name" names when several kinds are printed together.

#include <string>
#include <string_view>
#include <vector>

#include "engine/api/status.h"

namespace kd::cli {

// Aligns rows of cells like Go's text/tabwriter in kubectl's settings (minwidth 6, padding 3).
// Widths are remembered across flush() calls so streamed rows (get -w) line up with the
// header printed first; a wider cell widens its column from then on.
class TabWriter {
 public:
  void addRow(std::vector<std::string> cells);
  // The buffered rows as text, each ending in '\n'; clears the buffer, keeps the widths.
  std::string flush();

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<size_t> widths_;
};

struct TablePrintOptions {
  bool wide = false;           // include priority > 0 columns
  bool withNamespace = false;  // NAMESPACE column from each row's object metadata
  bool showLabels = false;     // LABELS column from each row's object metadata
  bool noHeaders = false;
  std::string kindPrefix;  // "pod" / "deployment.apps": names print as "<prefix>/<name>"
};

// Go's text/tabwriter over text whose cells end in '\t': consecutive lines that have a cell in
// the same column form a block aligned to its widest cell plus `padding` (at least
// `minWidth`); a line without that cell ends the block. The text after a line's last tab is
// never padded. kubectl describe prints through it with minWidth 0, padding 2.
std::string alignTabbed(std::string_view text, size_t minWidth = 0, size_t padding = 2);

// The header row, or nothing with noHeaders.
std::vector<std::string> tableHeader(const json& table, const TablePrintOptions& options);
// One printed row per Table row.
std::vector<std::vector<std::string>> tableRows(const json& table,
                                                const TablePrintOptions& options);
// Header plus rows, aligned.
std::string renderTable(const json& table, const TablePrintOptions& options);

// "app=web,tier=db" (sorted by key), or "<none>".
std::string formatLabels(const json& labels);

}  // namespace kd::cli
