#pragma once
// ObjectDetailView: the YAML of any object. A Secret's data and stringData values are
// replaced by "••••••" until the person presses "Reveal values" (then shown decoded when they
// are text); choosing another object hides them again.

#include <QWidget>

#include "engine/api/object_key.h"

class QCheckBox;
class QLabel;
class QPlainTextEdit;

namespace kd::dashboard {

class ObjectDetailView : public QWidget {
  Q_OBJECT

 public:
  explicit ObjectDetailView(QWidget* parent = nullptr);

  // `kind` names the object's kind (list items may not carry one); null `obj` clears (an empty
  // view stays untouched).
  void setObject(const QString& kind, const api::CachedObject& obj);
  QString yamlText() const;
  void setRevealed(bool revealed);

 private:
  void render();

  api::CachedObject obj_;
  QString kind_;
  QLabel* title_;
  QCheckBox* reveal_;
  QPlainTextEdit* yaml_;
};

// `secret` with every data/stringData value masked (revealed = false) or base64-decoded when
// it is valid UTF-8 text (revealed = true).
json presentSecret(const json& secret, bool revealed);

}  // namespace kd::dashboard
