// `kdctl edit`: the object in $KUBE_EDITOR / $EDITOR / vi, saved back as a patch, as kubectl
// edit does (its header, its messages, and reopening the editor on a syntax error or an
// invalid object).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "engine/api/patch.h"
#include "engine/api/schema.h"
#include "engine/api/yaml_json.h"
#include "engine/client/cli/commands.h"

namespace kd::cli {

namespace {

constexpr const char* kHeader =
    "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
    "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
    "# reopened with the relevant failures.\n"
    "#\n";

// Why the editor is opened again: a headline and, for an invalid object, one line per cause.
struct Reason {
  std::string head;
  std::vector<std::string> causes;
};

std::string commented(const std::string& text) {
  std::string out;
  for (char ch : text) out += ch == '\n' ? std::string("\n# ") : std::string(1, ch);
  return out;
}

// kubectl writes the comment header only into YAML; JSON has no comments.
std::string header(const std::vector<Reason>& reasons, const std::string& format) {
  if (format == "json") return {};
  std::string out = kHeader;
  for (const auto& r : reasons) {
    out += "# " + commented(r.head) + (r.causes.empty() ? "\n" : ":\n");
    for (const auto& c : r.causes) out += "# * " + commented(c) + "\n";
    out += "#\n";
  }
  return out;
}

// The text without comment lines ("#!" stays), as kubectl's ManualStrip.
std::string withoutComments(const std::string& text) {
  std::string out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] == '#' && line.compare(first, 2, "#!") != 0) {
      continue;
    }
    out += line + "\n";
  }
  return out;
}

// Equal as documents when both parse, else as text without comments.
bool sameContent(const std::string& a, const std::string& b) {
  auto left = api::parseDocument(withoutComments(a));
  auto right = api::parseDocument(withoutComments(b));
  if (left.ok() && right.ok()) return *left == *right;
  return withoutComments(a) == withoutComments(b);
}

std::string render(const json& object, const std::string& format) {
  return format == "json" ? goJson(object, 4) + "\n" : api::toYaml(object);
}

// $KUBE_EDITOR, $EDITOR or vi on `path`, on this terminal; an editor with spaces in it runs
// through $SHELL (else /bin/bash) -c, as kubectl runs it.
Status runEditor(const std::string& path) {
  std::string editor = "vi";
  for (const char* name : {"KUBE_EDITOR", "EDITOR"}) {
    if (const char* value = std::getenv(name); value && *value) {
      editor = value;
      break;
    }
  }
  std::vector<std::string> argv;
  if (editor.find(' ') == std::string::npos) {
    argv = {editor, path};
  } else {
    const char* shell = std::getenv("SHELL");
    argv = {shell && *shell ? shell : "/bin/bash", "-c", editor + " \"" + path + "\""};
  }
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    execvp(cargs[0], cargs.data());
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return Status::internal("there was a problem with the editor \"" + editor + "\"");
  }
  return Status::ok();
}

Result<std::string> readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::internal("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return out ? Status::ok() : Status::internal("cannot write " + path);
}

Result<std::string> tempFile(const std::string& format) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/kdctl-edit-XXXXXX." + format;
  const int fd = mkstemps(path.data(), static_cast<int>(format.size()) + 1);
  if (fd < 0) return Status::internal("cannot create a temporary file in " + path);
  ::close(fd);
  return path;
}

class EditSession {
 public:
  EditSession(Invocation& inv, client::ApiClient& c, api::KindInfo kind, json live,
              std::string format)
      : inv_(inv), c_(c), kind_(std::move(kind)), live_(std::move(live)), format_(format) {
    live_["metadata"].erase("managedFields");
    label_ = kind_.resource + (kind_.group.empty() ? "" : "." + kind_.group) + " \"" +
             live_["metadata"].value("name", "") + "\"";
  }

  int run();

 private:
  // One save: 0 done, 1 failed for good, -1 open the editor again.
  int save(const std::string& edited);
  int patch(const json& edited);

  Invocation& inv_;
  client::ApiClient& c_;
  api::KindInfo kind_;
  json live_;
  std::string format_, label_, path_;
  std::string original_;  // what the editor was given, without the header
  std::vector<Reason> reasons_;
  bool containsError_ = false;  // the last save failed: an unchanged file gives up
  bool syntaxError_ = false;
};

int EditSession::run() {
  auto path = tempFile(format_);
  if (!path.ok()) return inv_.failLocal(path.status());
  path_ = *path;
  original_ = render(live_, format_);
  std::string buffer = header({}, format_) + original_, previous;
  for (;;) {
    if (Status st = writeText(path_, buffer); !st.isOk()) return inv_.failLocal(st);
    if (Status st = runEditor(path_); !st.isOk()) return inv_.failLocal(st);
    auto edited = readText(path_);
    if (!edited.ok()) return inv_.failLocal(edited.status());
    if (containsError_ && sameContent(previous, *edited)) {
      inv_.err << "A copy of your changes has been stored to \"" << path_ << "\"\n";
      return inv_.usageError("Edit cancelled, no valid changes were saved.");
    }
    previous = *edited;
    const int rc = save(*edited);
    if (rc >= 0) return rc;
    buffer = header(reasons_, format_) + (syntaxError_ ? withoutComments(*edited) : original_);
  }
}

int EditSession::save(const std::string& edited) {
  if (sameContent(original_, edited)) {
    std::filesystem::remove(path_);
    inv_.err << "Edit cancelled, no changes made.\n";
    return 0;
  }
  const std::string text = withoutComments(edited);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    std::filesystem::remove(path_);
    inv_.err << "Edit cancelled, saved file was empty.\n";
    return 0;
  }
  reasons_.clear();
  auto parsed = api::parseDocument(text);
  syntaxError_ = !parsed.ok() || !parsed->is_object();
  containsError_ = true;
  if (syntaxError_) {
    inv_.err << "error: " << label_ << " is invalid\n";
    const std::string why =
        parsed.ok() ? "the edited file is not an object" : parsed.status().message();
    reasons_.push_back({"The edited file had a syntax error: " + why, {}});
    return -1;
  }
  return patch(*parsed);
}

int EditSession::patch(const json& edited) {
  auto body = api::createThreeWayMergePatch(live_, edited, live_, api::SchemaRegistry::builtin(),
                                            kind_.schemaType);
  if (!body.ok()) return inv_.failLocal(body.status());
  const auto type =
      kind_.schemaType.empty() ? client::PatchType::Merge : client::PatchType::StrategicMerge;
  const std::string ns = kind_.namespaced ? live_["metadata"].value("namespace", "") : "";
  auto patched = c_.patch(kind_, ns, live_["metadata"].value("name", ""), type, body->dump());
  if (patched.ok()) {
    std::filesystem::remove(path_);
    // With -o, kubectl prints the saved object in that format instead of the line.
    if (inv_.args.has("output")) return printObjects(inv_, *patched, format_);
    inv_.out << kindPrefix(kind_) << "/" << live_["metadata"].value("name", "") << " edited\n";
    return 0;
  }
  const Status& st = patched.status();
  if (st.reason() == "Invalid") {
    // kubectl reopens the editor on the edited object with the causes in the header.
    Reason reason{label_ + " was not valid", {}};
    for (const json& cause : st.toJson().value("/details/causes"_json_pointer, json::array())) {
      reason.causes.push_back(cause.value("field", "") + ": " + cause.value("message", ""));
    }
    reasons_ = {reason};
    original_ = render(edited, format_);
    inv_.err << "error: " << label_ << " is invalid\n";
    return -1;
  }
  if (st.code() == 404) {
    inv_.err << "error: " << label_ << " could not be found on the server\n"
             << "The edits you made on deleted resources have been saved to \"" << path_ << "\"\n";
    return 1;
  }
  inv_.err << "error: " << label_ << " could not be patched: " << st.message() << "\n"
           << "You can run `kdctl replace -f " << path_ << "` to try this update again.\n";
  return 1;
}

}  // namespace

int runEdit(Invocation& inv) {
  const std::vector<std::string> words(inv.args.words.begin() + 1, inv.args.words.end());
  if (words.empty()) {
    return inv.usageError("You must provide one or more resources by argument or filename.");
  }
  const std::string format = inv.args.value("output", "yaml");
  if (format != "yaml" && format != "json") {
    return inv.usageError("the edit mode doesn't support output the format \"" + format + "\"");
  }
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto selected = selectResources(inv, words);
  if (!selected.ok()) return inv.fail(selected.status());
  if (selected->size() != 1 || (*selected)[0].names.size() != 1) {
    return inv.usageError("kdctl edit takes exactly one object: TYPE NAME or TYPE/NAME");
  }
  const auto& [kind, names] = (*selected)[0];
  auto live = (*c)->get(kind, kind.namespaced ? inv.namespaceName() : "", names[0]);
  if (!live.ok()) return inv.fail(live.status());
  return EditSession(inv, **c, kind, std::move(live).value(), format).run();
}

}  // namespace kd::cli
