#include "engine/client/cli/table_printer.h"

#include <algorithm>
#include <cctype>

namespace kd::cli {

namespace {

constexpr size_t kMinWidth = 6;
constexpr size_t kPadding = 3;

// Display width: one column per UTF-8 code point.
size_t displayWidth(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string cellText(const json& cell) {
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_null()) return "<none>";
  if (cell.is_boolean()) return cell.get<bool>() ? "true" : "false";
  return cell.dump();
}

// Which columns print, by index into columnDefinitions.
std::vector<size_t> visibleColumns(const json& table, bool wide) {
  std::vector<size_t> out;
  const json& defs = table.value("columnDefinitions", json::array());
  for (size_t i = 0; i < defs.size(); ++i) {
    if (wide || defs[i].value("priority", 0) == 0) out.push_back(i);
  }
  return out;
}

const json& rowMetadata(const json& row) {
  static const json kEmpty = json::object();
  auto obj = row.find("object");
  if (obj == row.end() || !obj->is_object()) return kEmpty;
  auto meta = obj->find("metadata");
  return meta == obj->end() ? kEmpty : *meta;
}

}  // namespace

void TabWriter::addRow(std::vector<std::string> cells) {
  rows_.push_back(std::move(cells));
}

std::string TabWriter::flush() {
  for (const auto& row : rows_) {
    // The last cell of a row is not a column: it never widens anything.
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      if (widths_.size() <= c) widths_.push_back(kMinWidth);
      widths_[c] = std::max(widths_[c], displayWidth(row[c]) + kPadding);
    }
  }
  std::string out;
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out.append(widths_[c] - displayWidth(row[c]), ' ');
    }
    out += '\n';
  }
  rows_.clear();
  return out;
}

std::string formatLabels(const json& labels) {
  if (!labels.is_object() || labels.empty()) return "<none>";
  std::string out;
  for (const auto& [k, v] : labels.items()) {  // nlohmann keeps keys sorted
    if (!out.empty()) out += ',';
    out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

std::vector<std::string> tableHeader(const json& table, const TablePrintOptions& options) {
  std::vector<std::string> header;
  if (options.noHeaders) return header;
  if (options.withNamespace) header.emplace_back("NAMESPACE");
  const json& defs = table.value("columnDefinitions", json::array());
  for (size_t i : visibleColumns(table, options.wide)) {
    header.push_back(upper(defs[i].value("name", "")));
  }
  if (options.showLabels) header.emplace_back("LABELS");
  return header;
}

std::vector<std::vector<std::string>> tableRows(const json& table,
                                                const TablePrintOptions& options) {
  const auto columns = visibleColumns(table, options.wide);
  const json& defs = table.value("columnDefinitions", json::array());
  std::vector<std::vector<std::string>> out;
  for (const json& row : table.value("rows", json::array())) {
    const json& cells = row.value("cells", json::array());
    const json& meta = rowMetadata(row);
    std::vector<std::string> printed;
    if (options.withNamespace) printed.push_back(meta.value("namespace", ""));
    for (size_t i : columns) {
      std::string text = i < cells.size() ? cellText(cells[i]) : "";
      if (!options.kindPrefix.empty() && defs[i].value("format", "") == "name") {
        text = options.kindPrefix + "/" + text;
      }
      printed.push_back(std::move(text));
    }
    if (options.showLabels) printed.push_back(formatLabels(meta.value("labels", json())));
    out.push_back(std::move(printed));
  }
  return out;
}

std::string renderTable(const json& table, const TablePrintOptions& options) {
  TabWriter writer;
  if (auto header = tableHeader(table, options); !header.empty()) writer.addRow(header);
  for (auto& row : tableRows(table, options)) writer.addRow(std::move(row));
  return writer.flush();
}

namespace {

using Lines = std::vector<std::vector<std::string>>;

struct Aligner {
  const Lines& lines;
  size_t minWidth, padding;
  std::vector<size_t> widths;
  std::string out;

  void writeLines(size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const auto& cells = lines[i];
      for (size_t j = 0; j < cells.size(); ++j) {
        out += cells[j];
        if (j < widths.size()) out.append(widths[j] - displayWidth(cells[j]), ' ');
      }
      if (i + 1 < lines.size()) out += '\n';
    }
  }

  // Go's tabwriter.format: find each block of lines sharing the next column, size it, recurse.
  void format(size_t line0, size_t line1) {
    const size_t column = widths.size();
    for (size_t at = line0; at < line1; ++at) {
      if (column + 1 >= lines[at].size()) continue;
      writeLines(line0, at);
      line0 = at;
      size_t width = minWidth;
      for (; at < line1 && column + 1 < lines[at].size(); ++at) {
        width = std::max(width, displayWidth(lines[at][column]) + padding);
      }
      widths.push_back(width);
      format(line0, at);
      widths.pop_back();
      line0 = at;
      if (at == line1) break;
    }
    writeLines(line0, line1);
  }
};

}  // namespace

std::string alignTabbed(std::string_view text, size_t minWidth, size_t padding) {
  Lines lines(1);
  lines.back().emplace_back();
  for (char ch : text) {
    if (ch == '\n') {
      lines.emplace_back(1);
    } else if (ch == '\t') {
      lines.back().emplace_back();
    } else {
      lines.back().back() += ch;
    }
  }
  Aligner a{lines, minWidth, padding, {}, {}};
  a.format(0, lines.size());
  return a.out;
}

}  // namespace kd::cli
