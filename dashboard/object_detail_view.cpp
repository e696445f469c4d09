#include "dashboard/object_detail_view.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QVBoxLayout>

#include "engine/api/base64.h"
#include "engine/api/yaml_json.h"

namespace kd::dashboard {

json presentSecret(const json& secret, bool revealed) {
  json out = secret;
  for (const char* field : {"data", "stringData"}) {
    auto it = out.find(field);
    if (it == out.end() || !it->is_object()) continue;
    for (auto& [key, value] : it->items()) {
      if (!revealed) {
        value = "••••••";
      } else if (std::string_view(field) == "data" && value.is_string()) {
        auto decoded = api::base64Decode(value.get<std::string>());
        if (decoded && QString::fromUtf8(*decoded).toUtf8().toStdString() == *decoded)
          value = *decoded;
      }
    }
  }
  return out;
}

ObjectDetailView::ObjectDetailView(QWidget* parent)
    : QWidget(parent),
      title_(new QLabel),
      reveal_(new QCheckBox(tr("Reveal values"))),
      yaml_(new QPlainTextEdit) {
  yaml_->setReadOnly(true);
  yaml_->setFont(QFont(QStringLiteral("monospace")));
  reveal_->setObjectName("reveal");
  connect(reveal_, &QCheckBox::toggled, this, &ObjectDetailView::render);
  auto* top = new QHBoxLayout;
  top->addWidget(title_, 1);
  top->addWidget(reveal_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(top);
  layout->addWidget(yaml_);
}

void ObjectDetailView::setObject(const QString& kind, const api::CachedObject& obj) {
  if (!obj && !obj_ && kind == kind_) return;  // already empty (see PodDetailView::setPod)
  const bool same = obj && obj_ && kind == kind_ && api::objectKey(*obj) == api::objectKey(*obj_);
  obj_ = obj;
  kind_ = kind;
  if (!same) reveal_->setChecked(false);
  render();
}

void ObjectDetailView::setRevealed(bool revealed) {
  reveal_->setChecked(revealed);
}

QString ObjectDetailView::yamlText() const {
  return yaml_->toPlainText();
}

void ObjectDetailView::render() {
  const bool secret = obj_ && kind_ == QLatin1String("Secret");
  reveal_->setVisible(secret);
  if (!obj_) {
    title_->clear();
    yaml_->clear();
    return;
  }
  title_->setText("<b>" + kind_ + " " + QString::fromStdString(api::objectKey(*obj_)) + "</b>");
  const int scroll = yaml_->verticalScrollBar()->value();
  yaml_->setPlainText(QString::fromStdString(
      api::toYaml(secret ? presentSecret(*obj_, reveal_->isChecked()) : *obj_)));
  yaml_->verticalScrollBar()->setValue(scroll);
}

}  // namespace kd::dashboard
