#include <algorithm>
#include <chrono>
#include <ostream>

#include "engine/api/table.h"
#include "engine/api/yaml_json.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/jsonpath.h"
#include "engine/client/cli/sort_by.h"
#include "engine/client/cli/table_printer.h"

namespace kd::cli {

namespace {

bool multipleTypesRequested(const std::vector<std::string>& words) {
  if (words.empty()) return false;
  if (words[0] == "all" || words[0].find(',') != std::string::npos) return true;
  std::vector<std::string> types;
  for (const auto& w : words) {
    if (auto slash = w.find('/'); slash != std::string::npos) {
      std::string t = w.substr(0, slash);
      if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
    }
  }
  return types.size() > 1;
}

client::ListOptions listOptions(const Invocation& inv) {
  client::ListOptions o;
  o.labelSelector = inv.args.value("selector");
  o.fieldSelector = inv.args.value("field-selector");
  // Rows are sorted by a field of their object, which the Table then carries.
  if (inv.args.has("sort-by")) o.includeObject = "Object";
  return o;
}

std::string tableNamespace(Invocation& inv) {
  return inv.allNamespaces() ? std::string() : inv.namespaceName();
}

// Server-side Tables for one selection: one list, or one Table per name (NotFound names are
// reported and skipped).
std::vector<json> fetchTables(Invocation& inv, client::ApiClient& c, const ResourceSelection& sel,
                              int& exitCode) {
  std::vector<json> tables;
  const std::string ns = tableNamespace(inv);
  if (sel.names.empty()) {
    auto t = c.table(sel.kind, ns, listOptions(inv));
    if (!t.ok()) {
      exitCode = inv.fail(t.status());
    } else {
      tables.push_back(std::move(t).value());
    }
    return tables;
  }
  for (const auto& name : sel.names) {
    client::ListOptions one;
    one.includeObject = listOptions(inv).includeObject;
    auto t = c.table(sel.kind, ns.empty() ? inv.namespaceName() : ns, one, name);
    if (!t.ok()) {
      exitCode = inv.fail(t.status());
    } else {
      tables.push_back(std::move(t).value());
    }
  }
  return tables;
}

void streamWatch(Invocation& inv, client::ApiClient& c, const ResourceSelection& sel,
                 const std::string& resourceVersion, TabWriter& writer,
                 const TablePrintOptions& options) {
  client::ListOptions o = listOptions(inv);
  o.resourceVersion = resourceVersion;
  if (sel.names.size() == 1) o.fieldSelector = "metadata.name=" + sel.names[0];
  auto w = c.watch(sel.kind, tableNamespace(inv), o);
  if (!w.ok()) {
    inv.fail(w.status());
    return;
  }
  while (!(*w)->ended()) {
    auto ev = (*w)->next(std::chrono::milliseconds(500));
    if (!ev || ev->type == "BOOKMARK" || ev->type == "ERROR") continue;
    // Rows for events are built here from the objects, with the same printer the server uses.
    const json table =
        api::buildTable(sel.kind, {&ev->object}, json::object(), api::TableObjects::Metadata,
                        std::chrono::system_clock::now());
    for (auto& row : tableRows(table, options)) writer.addRow(std::move(row));
    inv.out << writer.flush() << std::flush;
  }
}

int printTables(Invocation& inv, client::ApiClient& c, const std::vector<ResourceSelection>& sels) {
  int exitCode = 0;
  const bool withKind = multipleTypesRequested({inv.args.words.begin() + 1, inv.args.words.end()});
  bool printedAny = false, anyClusterScoped = false;
  const bool watch = inv.args.boolean("watch") || inv.args.boolean("watch-only");
  TabWriter writer;
  TablePrintOptions options;
  std::string lastResourceVersion;
  for (const auto& sel : sels) {
    anyClusterScoped |= !sel.kind.namespaced;
    options.wide = inv.args.value("output") == "wide";
    options.withNamespace = inv.allNamespaces() && sel.kind.namespaced;
    options.showLabels = inv.args.boolean("show-labels");
    options.noHeaders = inv.args.boolean("no-headers");
    options.kindPrefix = withKind ? kindPrefix(sel.kind) : "";
    std::vector<std::vector<std::string>> rows;
    json first;
    for (json& t : fetchTables(inv, c, sel, exitCode)) {
      lastResourceVersion = t.value("/metadata/resourceVersion"_json_pointer, "");
      if (first.is_null()) {
        first = std::move(t);
      } else {  // one Table per named object: their rows go together
        for (json& row : t["rows"]) first["rows"].push_back(std::move(row));
      }
    }
    if (inv.args.has("sort-by") && !first.is_null()) {
      auto field = relaxedSortField(inv.args.value("sort-by"));
      Status sorted = field.ok() ? sortByField(first["rows"], *field, true) : field.status();
      if (!sorted.isOk()) return inv.usageError(sorted.message());
    }
    if (!first.is_null()) rows = tableRows(first, options);
    if (rows.empty() && !(watch && !first.is_null())) continue;
    if (printedAny) inv.out << "\n";
    if (!inv.args.boolean("watch-only")) {
      if (auto h = tableHeader(first, options); !h.empty()) writer.addRow(h);
      for (auto& r : rows) writer.addRow(std::move(r));
    }
    inv.out << writer.flush() << std::flush;
    printedAny = true;
    if (!watch) writer = TabWriter();
  }
  if (!printedAny && exitCode == 0 && !watch) {
    if (inv.allNamespaces() || anyClusterScoped) {
      inv.err << "No resources found\n";
    } else {
      inv.err << "No resources found in " << inv.namespaceName() << " namespace.\n";
    }
  }
  if (watch && sels.size() == 1) streamWatch(inv, c, sels[0], lastResourceVersion, writer, options);
  return exitCode;
}

json withTypeMeta(json object, const api::KindInfo& kind) {
  if (!object.contains("apiVersion")) object["apiVersion"] = kind.apiVersion();
  if (!object.contains("kind")) object["kind"] = kind.kind;
  return object;
}

int getObjects(Invocation& inv, client::ApiClient& c, const std::vector<ResourceSelection>& sels,
               const std::string& format) {
  int exitCode = 0;
  json items = json::array();
  bool single = sels.size() == 1 && sels[0].names.size() == 1;
  for (const auto& sel : sels) {
    if (sel.names.empty()) {
      auto list = c.list(sel.kind, tableNamespace(inv), listOptions(inv));
      if (!list.ok()) {
        exitCode = inv.fail(list.status());
        continue;
      }
      for (const json& item : list->value("items", json::array())) {
        items.push_back(withTypeMeta(item, sel.kind));
      }
    }
    for (const auto& name : sel.names) {
      auto obj = c.get(sel.kind, inv.namespaceName(), name);
      if (!obj.ok()) {
        exitCode = inv.fail(obj.status());
      } else {
        items.push_back(withTypeMeta(std::move(obj).value(), sel.kind));
      }
    }
  }
  if (single) {
    if (items.empty()) return exitCode;
    return std::max(exitCode, printObjects(inv, items[0], format));
  }
  if (inv.args.has("sort-by")) {
    auto field = relaxedSortField(inv.args.value("sort-by"));
    Status sorted = field.ok() ? sortByField(items, *field, false) : field.status();
    if (!sorted.isOk()) return inv.usageError(sorted.message());
  }
  json list = {{"apiVersion", "v1"},
               {"items", items},
               {"kind", "List"},
               {"metadata", {{"resourceVersion", ""}}}};
  return std::max(exitCode, printObjects(inv, list, format));
}

std::string namePrefixOf(const json& object) {
  const std::string apiVersion = object.value("apiVersion", "");
  const auto* kind = api::KindsRegistry::builtin().byKind(apiVersion, object.value("kind", ""));
  if (kind) return kindPrefix(*kind);
  std::string k = object.value("kind", "");
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char ch) { return std::tolower(ch); });
  auto slash = apiVersion.find('/');
  return slash == std::string::npos ? k : k + "." + apiVersion.substr(0, slash);
}

// -o custom-columns=HEADER:PATH,...: one row per object, a cell the values PATH selects
// (joined with ","), "<none>" when it selects nothing. Paths are relaxed as --sort-by's.
int printCustomColumns(Invocation& inv, const json& object, std::string_view spec) {
  struct Column {
    std::string header, path;
  };
  std::vector<Column> columns;
  for (size_t start = 0; start <= spec.size();) {
    size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string_view column = spec.substr(start, comma - start);
    const size_t colon = column.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return inv.usageError("unexpected custom-columns spec: " + std::string(column) +
                            ", expected <header>:<json-path-expr>");
    }
    auto path = relaxedSortField(column.substr(colon + 1));
    if (!path.ok()) return inv.usageError(path.status().message());
    columns.push_back({std::string(column.substr(0, colon)), path->substr(1, path->size() - 2)});
    start = comma + 1;
  }
  TabWriter writer;
  if (!inv.args.boolean("no-headers")) {
    std::vector<std::string> header;
    for (const auto& c : columns) header.push_back(c.header);
    writer.addRow(std::move(header));
  }
  const bool isList = object.value("kind", "") == "List";
  for (const json& o : isList ? object["items"] : json::array({object})) {
    std::vector<std::string> row;
    for (const auto& c : columns) {
      auto values = jsonPathValues(c.path, o);
      if (!values.ok()) return inv.usageError(values.status().message());
      std::string cell;
      for (const json& v : *values) {
        cell += (cell.empty() ? "" : ",") + (v.is_string() ? v.get<std::string>() : v.dump());
      }
      row.push_back(values->empty() ? "<none>" : cell);
    }
    writer.addRow(std::move(row));
  }
  inv.out << writer.flush();
  return 0;
}

}  // namespace

std::string goJson(const json& value, int indent) {
  std::string text = value.dump(indent);
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (ch == '<') {
      out += "\\u003c";
    } else if (ch == '>') {
      out += "\\u003e";
    } else if (ch == '&') {
      out += "\\u0026";
    } else {
      out += ch;
    }
  }
  return out;
}

int printObjects(Invocation& inv, const json& object, const std::string& format) {
  const bool isList = object.value("kind", "") == "List";
  if (format == "json") {
    inv.out << goJson(object, 4) << "\n";
  } else if (format == "yaml") {
    inv.out << api::toYaml(object);
  } else if (format == "name") {
    for (const json& o : isList ? object["items"] : json::array({object})) {
      inv.out << namePrefixOf(o) << "/" << o["metadata"].value("name", "") << "\n";
    }
  } else if (format.starts_with("jsonpath=") || format.starts_with("jsonpath-as-json=")) {
    std::string templ = format.substr(format.find('=') + 1);
    if (templ.size() >= 2 && templ.front() == '\'' && templ.back() == '\'') {
      templ = templ.substr(1, templ.size() - 2);
    }
    auto text = renderJsonPath(templ, object);
    if (!text.ok())
      return inv.usageError("error executing jsonpath \"" + templ +
                            "\": " + text.status().message());
    inv.out << *text;
  } else if (format.starts_with("custom-columns=")) {
    return printCustomColumns(inv, object, std::string_view(format).substr(15));
  } else {
    return inv.usageError("unable to match a printer suitable for the output format \"" + format +
                          "\", allowed formats are: custom-columns,json,jsonpath,name,wide,yaml");
  }
  return 0;
}

int runGet(Invocation& inv) {
  const std::vector<std::string> words(inv.args.words.begin() + 1, inv.args.words.end());
  if (words.empty()) {
    return inv.usageError("Required resource not specified.\nUse \"kdctl get --help\" for usage.");
  }
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto sels = selectResources(inv, words);
  if (!sels.ok()) return inv.failLocal(sels.status());
  const std::string format = inv.args.value("output");
  if (format.empty() || format == "wide") return printTables(inv, **c, *sels);
  return getObjects(inv, **c, *sels, format);
}

}  // namespace kd::cli
