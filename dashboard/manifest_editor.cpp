#include "dashboard/manifest_editor.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTextBlock>
#include <QTimer>
#include <QVBoxLayout>

#include "dashboard/async_call.h"
#include "dashboard/yaml_field_locator.h"
#include "dashboard/yaml_highlighter.h"
#include "engine/api/object_key.h"
#include "engine/api/yaml_json.h"

namespace kd::dashboard {
namespace {

using Outcome = std::shared_ptr<ManifestOutcome>;

// Creates `object`, or merges it into the live one when it exists.
Result<std::string> applyOne(client::ApiClient& c, const json& object, bool dryRun) {
  const std::string apiVersion = object.value("apiVersion", "");
  const std::string kindName = object.value("kind", "");
  const api::KindInfo* kind = api::KindsRegistry::builtin().byKind(apiVersion, kindName);
  if (!kind) {
    return Status::badRequest("no matches for kind \"" + kindName + "\" in version \"" +
                              apiVersion + "\"");
  }
  const json& meta = api::metadataOf(object);
  const std::string ns = meta.value("namespace", "");
  const std::string name = meta.value("name", "");
  client::WriteOptions options;
  options.dryRun = dryRun;
  options.fieldManager = "kubedesk";
  options.fieldValidation = "Strict";
  const std::string label = kind->resource + "/" + name;
  auto created = c.create(*kind, ns, object, options);
  if (created.ok()) return label + " created";
  if (created.status().code() != 409 || name.empty()) return created.status();
  auto patched =
      c.patch(*kind, ns, name, client::PatchType::StrategicMerge, object.dump(), options);
  if (!patched.ok()) return patched.status();
  return label + " configured";
}

}  // namespace

ManifestOutcome applyManifests(client::ApiClient& client, const std::string& text, bool dryRun) {
  ManifestOutcome outcome;
  auto docs = api::parseYamlDocuments(text);
  if (!docs.ok()) {
    outcome.status = docs.status();
    return outcome;
  }
  for (size_t i = 0; i < docs->size(); ++i) {
    if ((*docs)[i].is_null()) continue;
    auto r = applyOne(client, (*docs)[i], dryRun);
    if (!r.ok()) {
      outcome.status = r.status();
      outcome.failedDocument = i;
      return outcome;
    }
    outcome.done << QString::fromStdString(*r) + (dryRun ? " (server dry run)" : "");
  }
  return outcome;
}

std::vector<ManifestProblem> problemsOf(const ManifestOutcome& outcome, const std::string& text) {
  std::vector<ManifestProblem> out;
  if (outcome.status.isOk()) return out;
  for (const auto& cause : outcome.status.causes()) {
    out.push_back({lineOfField(text, outcome.failedDocument, cause.field),
                   QString::fromStdString(cause.field + ": " + cause.message)});
  }
  if (out.empty()) out.push_back({-1, QString::fromStdString(outcome.status.message())});
  return out;
}

ManifestEditor::ManifestEditor(client::ApiClient* client, QWidget* parent)
    : QWidget(parent),
      client_(client),
      editor_(new QPlainTextEdit),
      problemList_(new QListWidget),
      state_(new QLabel),
      debounce_(new QTimer(this)) {
  editor_->setObjectName("manifest");
  editor_->setFont(QFont(QStringLiteral("monospace")));
  editor_->setLineWrapMode(QPlainTextEdit::NoWrap);
  new YamlHighlighter(editor_->document());
  problemList_->setObjectName("problems");
  problemList_->setMaximumHeight(120);
  debounce_->setSingleShot(true);
  debounce_->setInterval(700);
  connect(debounce_, &QTimer::timeout, this, &ManifestEditor::validate);
  connect(editor_, &QPlainTextEdit::textChanged, this, [this] {
    ++generation_;
    debounce_->start();
  });
  connect(problemList_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    const int line = item->data(Qt::UserRole).toInt();
    if (line < 0) return;
    QTextCursor cursor(editor_->document()->findBlockByNumber(line));
    editor_->setTextCursor(cursor);
    editor_->setFocus();
  });
  auto* validateButton = new QPushButton(tr("Validate"));
  auto* applyButton = new QPushButton(tr("Apply"));
  connect(validateButton, &QPushButton::clicked, this, &ManifestEditor::validate);
  connect(applyButton, &QPushButton::clicked, this, &ManifestEditor::apply);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(state_, 1);
  buttons->addWidget(validateButton);
  buttons->addWidget(applyButton);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(editor_, 1);
  layout->addWidget(problemList_);
  layout->addLayout(buttons);
}

void ManifestEditor::setText(const QString& yaml) {
  editor_->setPlainText(yaml);
}

QString ManifestEditor::text() const {
  return editor_->toPlainText();
}

void ManifestEditor::validate() {
  run(true);
}

void ManifestEditor::apply() {
  run(false);
}

void ManifestEditor::run(bool dryRun) {
  debounce_->stop();
  const std::string text = editor_->toPlainText().toStdString();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return;
  state_->setText(dryRun ? tr("Validating…") : tr("Applying…"));
  client::ApiClient* client = client_;
  const int generation = generation_;
  runAsync<Outcome>(
      this,
      [client, text, dryRun]() -> Result<Outcome> {
        return std::make_shared<ManifestOutcome>(applyManifests(*client, text, dryRun));
      },
      [this, dryRun, generation](const Result<Outcome>& r) {
        if (dryRun && generation != generation_) return;  // the text changed meanwhile
        showOutcome(**r, dryRun);
      });
}

void ManifestEditor::showOutcome(const ManifestOutcome& outcome, bool dryRun) {
  const std::string text = editor_->toPlainText().toStdString();
  problems_ = problemsOf(outcome, text);
  problemList_->clear();
  QList<QTextEdit::ExtraSelection> marks;
  for (const auto& p : problems_) {
    auto* item = new QListWidgetItem(
        (p.line >= 0 ? tr("line %1: ").arg(p.line + 1) : QString()) + p.message, problemList_);
    item->setData(Qt::UserRole, p.line);
    item->setForeground(QColor(0xd0, 0x31, 0x2d));
    if (p.line < 0) continue;
    QTextEdit::ExtraSelection mark;
    mark.cursor = QTextCursor(editor_->document()->findBlockByNumber(p.line));
    mark.format.setBackground(QColor(0xff, 0xe0, 0xe0));
    mark.format.setUnderlineStyle(QTextCharFormat::WaveUnderline);
    mark.format.setUnderlineColor(Qt::red);
    mark.format.setProperty(QTextFormat::FullWidthSelection, true);
    mark.format.setToolTip(p.message);
    marks << mark;
  }
  editor_->setExtraSelections(marks);
  if (outcome.status.isOk()) {
    state_->setText(outcome.done.join("; "));
  } else {
    state_->setText(QString::fromStdString(outcome.status.message()));
  }
  if (dryRun) {
    emit validated(outcome.status);
  } else {
    emit applied(outcome.status);
  }
}

}  // namespace kd::dashboard
