#include "dashboard/terminal_view.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QScrollBar>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>

#include "engine/api/kinds.h"
#include "engine/api/object_key.h"
#include "engine/client/log_stream.h"
#include "engine/client/remote_stream.h"

namespace kd::dashboard {

// One exec session on a thread of its own. Output waits in `pending_` for the GUI thread,
// which `wake` tells (once per batch). The thread holds the session alive; stop() cancels it
// and joins it on Qt's pool, which QCoreApplication waits for on exit.
class ExecSession : public std::enable_shared_from_this<ExecSession> {
 public:
  struct Batch {
    std::string output;
    bool more = false;   // output is still waiting: take again soon
    bool ended = false;  // the session is over (after the last output)
    int exitCode = -1;
    QString error;
  };

  explicit ExecSession(std::function<void()> wake) : wake_(std::move(wake)) {}
  ~ExecSession() {
    if (thread_.joinable()) thread_.detach();  // only when stop() never ran
  }

  // The thread holds the client: it may outlive the view and the session.
  void start(std::shared_ptr<const client::ApiClient> client, const std::string& path,
             client::TerminalSize size) {
    size_ = size;
    thread_ = std::thread([self = shared_from_this(), client = std::move(client), path] {
      self->run(*client, path);
    });
  }

  // Keys typed before the connection is up are sent once it is.
  void write(std::string_view bytes) {
    std::lock_guard lock(mu_);
    if (command_) {
      command_->writeStdin(bytes);
    } else {
      input_.append(bytes);
    }
  }

  void resize(client::TerminalSize size) {
    std::lock_guard lock(mu_);
    size_ = size;
    if (command_) command_->resize(size);
  }

  // After stop() no wake reaches the view.
  void stop() {
    {
      std::lock_guard lock(mu_);
      wake_ = nullptr;
      stopped_ = true;
      if (command_) command_->cancel();
    }
    if (thread_.joinable())
      (void)QtConcurrent::run([t = std::move(thread_)]() mutable { t.join(); });
  }

  Batch take(size_t maxBytes) {
    std::lock_guard lock(mu_);
    Batch b;
    const size_t n = std::min(maxBytes, pending_.size());
    b.output = pending_.substr(0, n);
    pending_.erase(0, n);
    b.more = !pending_.empty();
    wakeQueued_ = b.more;
    b.ended = ended_ && !b.more;
    b.exitCode = exitCode_;
    b.error = error_;
    return b;
  }

 private:
  void run(const client::ApiClient& client, const std::string& path) {
    auto opened = client::RemoteCommand::open(client, path);
    if (!opened.ok()) return finish(opened.status());
    client::RemoteCommand* command = opened->get();
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      command_ = std::move(*opened);
      command->resize(size_);
      if (!input_.empty()) command->writeStdin(input_);
      input_.clear();
    }
    client::RemoteCommandIo io;
    io.onStdout = [this](std::string_view data) { deliver(data); };
    io.onStderr = io.onStdout;
    const Result<json> outcome = command->run(io);
    {
      std::lock_guard lock(mu_);
      command_.reset();
    }
    finish(outcome);
  }

  void finish(const Result<json>& outcome) {
    std::lock_guard lock(mu_);
    ended_ = true;
    if (!outcome.ok()) {
      error_ = QString::fromStdString(outcome.status().message());
    } else if ((exitCode_ = client::exitCodeOf(*outcome)) < 0) {
      error_ = QString::fromStdString(outcome->value("message", "the command failed"));
    }
    wakeLocked();
  }

  void deliver(std::string_view data) {
    std::lock_guard lock(mu_);
    pending_.append(data);
    wakeLocked();
  }

  void wakeLocked() {
    if (!wakeQueued_ && wake_) {
      wakeQueued_ = true;
      wake_();
    }
  }

  std::thread thread_;
  std::mutex mu_;
  std::function<void()> wake_;  // null once stopped
  bool wakeQueued_ = false, stopped_ = false, ended_ = false;
  std::string pending_;  // output for the GUI thread
  std::string input_;    // keys typed before the connection was up
  client::TerminalSize size_;
  std::unique_ptr<client::RemoteCommand> command_;  // while connected
  int exitCode_ = -1;
  QString error_;
};

namespace {

// Output fed to the terminal per turn of the event loop, so that a flood of output never
// holds the GUI thread long.
constexpr size_t kBatchBytes = 64 * 1024;

// bash where the image has it, else sh (what Lens runs).
const std::vector<std::string> kShell = {"sh", "-c",
                                         "command -v bash >/dev/null 2>&1 && exec bash || exec sh"};

VTermModifier modifiersOf(Qt::KeyboardModifiers m) {
  int mod = VTERM_MOD_NONE;
  if (m & Qt::ShiftModifier) mod |= VTERM_MOD_SHIFT;
  if (m & Qt::AltModifier) mod |= VTERM_MOD_ALT;
  if (m & Qt::ControlModifier) mod |= VTERM_MOD_CTRL;
  return VTermModifier(mod);
}

VTermKey vtermKey(int key) {
  switch (key) {
    case Qt::Key_Return:
    case Qt::Key_Enter:
      return VTERM_KEY_ENTER;
    case Qt::Key_Tab:
    case Qt::Key_Backtab:
      return VTERM_KEY_TAB;
    case Qt::Key_Backspace:
      return VTERM_KEY_BACKSPACE;
    case Qt::Key_Escape:
      return VTERM_KEY_ESCAPE;
    case Qt::Key_Up:
      return VTERM_KEY_UP;
    case Qt::Key_Down:
      return VTERM_KEY_DOWN;
    case Qt::Key_Left:
      return VTERM_KEY_LEFT;
    case Qt::Key_Right:
      return VTERM_KEY_RIGHT;
    case Qt::Key_Insert:
      return VTERM_KEY_INS;
    case Qt::Key_Delete:
      return VTERM_KEY_DEL;
    case Qt::Key_Home:
      return VTERM_KEY_HOME;
    case Qt::Key_End:
      return VTERM_KEY_END;
    case Qt::Key_PageUp:
      return VTERM_KEY_PAGEUP;
    case Qt::Key_PageDown:
      return VTERM_KEY_PAGEDOWN;
    default:
      if (key >= Qt::Key_F1 && key <= Qt::Key_F12)
        return VTermKey(VTERM_KEY_FUNCTION(key - Qt::Key_F1 + 1));
      return VTERM_KEY_NONE;
  }
}

QString podName(const json& pod) {
  return QString::fromStdString(api::metadataOf(pod).value("name", ""));
}

// "\r\n" for every line break, as a terminal needs them.
std::string terminalLines(const QString& text) {
  return QString(text).replace('\n', QStringLiteral("\r\n")).toStdString();
}

}  // namespace

// --- TerminalDisplay -----------------------------------------------------------------------------

TerminalDisplay::TerminalDisplay(QWidget* parent) : QAbstractScrollArea(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setAttribute(Qt::WA_InputMethodEnabled, false);
  setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  const QFontMetrics fm(font());
  cellWidth_ = std::max(1, fm.horizontalAdvance(QLatin1Char('M')));
  cellHeight_ = std::max(1, fm.height());
  ascent_ = fm.ascent();
  setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  viewport()->setCursor(Qt::IBeamCursor);
  viewport()->setAutoFillBackground(false);
  reset();
}

TerminalDisplay::~TerminalDisplay() = default;

void TerminalDisplay::reset() {
  const int rows = screen_ ? screen_->rows() : 24, cols = screen_ ? screen_->cols() : 80;
  screen_ = std::make_unique<VtermScreen>(rows, cols, kScrollbackLines);
  connectScreen();
  selectionStart_ = selectionEnd_ = {};
  inputEnabled_ = true;
  updateScrollRange();
  viewport()->update();
}

void TerminalDisplay::connectScreen() {
  screen_->onDamage = [this](const QRect& cells) { damaged_ += cells; };
  screen_->onOutput = [this](std::string_view bytes) {
    emit input(QByteArray(bytes.data(), qsizetype(bytes.size())));
  };
}

void TerminalDisplay::write(std::string_view bytes) {
  const bool atBottom = verticalScrollBar()->value() >= verticalScrollBar()->maximum();
  const int before = screen_->scrollbackSize();
  damaged_ = {};
  screen_->write(bytes);
  updateScrollRange();
  if (atBottom) verticalScrollBar()->setValue(verticalScrollBar()->maximum());
  // Reading the scrollback, every line moved; at the bottom only the damaged cells changed.
  if (!atBottom && screen_->scrollbackSize() != before) return viewport()->update();
  const int top = topRow();
  QRegion pixels;
  for (const QRect& r : damaged_) {
    pixels += QRect(r.x() * cellWidth_, (r.y() - top) * cellHeight_, r.width() * cellWidth_,
                    r.height() * cellHeight_);
  }
  viewport()->update(pixels);
}

void TerminalDisplay::updateScrollRange() {
  QScrollBar* bar = verticalScrollBar();
  bar->setRange(0, screen_->scrollbackSize());
  bar->setPageStep(screen_->rows());
  bar->setSingleStep(1);
}

int TerminalDisplay::topRow() const {
  return verticalScrollBar()->value() - screen_->scrollbackSize();
}

QString TerminalDisplay::screenText() const {
  QStringList lines;
  for (int row = 0; row < screen_->rows(); ++row) lines << screen_->lineText(row);
  while (!lines.isEmpty() && lines.last().isEmpty()) lines.removeLast();
  return lines.join('\n');
}

QString TerminalDisplay::selectedText() const {
  auto [from, to] = std::minmax(selectionStart_, selectionEnd_, [](QPoint a, QPoint b) {
    return std::pair(a.y(), a.x()) < std::pair(b.y(), b.x());
  });
  QStringList lines;
  const int sb = screen_->scrollbackSize();
  for (int line = from.y(); line <= to.y() && from != to; ++line) {
    lines << screen_->lineText(line - sb, line == from.y() ? from.x() : 0,
                               line == to.y() ? to.x() : -1);
  }
  return lines.join('\n');
}

void TerminalDisplay::copy() {
  const QString text = selectedText();
  if (!text.isEmpty()) QApplication::clipboard()->setText(text);
}

void TerminalDisplay::paste() {
  const QString text = QApplication::clipboard()->text();
  if (text.isEmpty() || !inputEnabled_) return;
  verticalScrollBar()->setValue(verticalScrollBar()->maximum());
  screen_->paste(text);
}

// Tab and Shift+Tab reach keyPressEvent instead of moving the focus.
bool TerminalDisplay::event(QEvent* e) {
  if (e->type() == QEvent::KeyPress) {
    auto* key = static_cast<QKeyEvent*>(e);
    if (key->key() == Qt::Key_Tab || key->key() == Qt::Key_Backtab) {
      keyPressEvent(key);
      return true;
    }
  }
  return QAbstractScrollArea::event(e);
}

void TerminalDisplay::keyPressEvent(QKeyEvent* e) {
  const auto mods = e->modifiers();
  const bool ctrlShift = (mods & Qt::ControlModifier) && (mods & Qt::ShiftModifier);
  if (ctrlShift && e->key() == Qt::Key_C) return copy();
  if ((ctrlShift && e->key() == Qt::Key_V) ||
      (mods == Qt::ShiftModifier && e->key() == Qt::Key_Insert)) {
    return paste();
  }
  if (mods == Qt::ShiftModifier && (e->key() == Qt::Key_PageUp || e->key() == Qt::Key_PageDown)) {
    const int step = e->key() == Qt::Key_PageUp ? -1 : 1;
    verticalScrollBar()->setValue(verticalScrollBar()->value() + step * screen_->rows());
    return;
  }
  if (!inputEnabled_ || !sendKey(e)) return QAbstractScrollArea::keyPressEvent(e);
  verticalScrollBar()->setValue(verticalScrollBar()->maximum());
}

// Sends `e` to the terminal; false when it means nothing to one.
bool TerminalDisplay::sendKey(QKeyEvent* e) {
  VTermModifier mod = modifiersOf(e->modifiers());
  if (e->key() == Qt::Key_Backtab) mod = VTermModifier(mod | VTERM_MOD_SHIFT);
  if (const VTermKey key = vtermKey(e->key()); key != VTERM_KEY_NONE) {
    screen_->key(key, mod);
    return true;
  }
  // Ctrl with a letter or one of @[\]^_ is a control character, whatever text the platform
  // attached to the event.
  if ((mod & VTERM_MOD_CTRL) && e->key() >= Qt::Key_At && e->key() <= Qt::Key_Underscore) {
    screen_->character(char32_t(QChar::toLower(char32_t(e->key()))), mod);
    return true;
  }
  const QString text = e->text();
  if (text.isEmpty() || !text.at(0).isPrint()) return false;
  for (char32_t c : text.toUcs4()) screen_->character(c, VTermModifier(mod & ~VTERM_MOD_CTRL));
  return true;
}

void TerminalDisplay::resizeEvent(QResizeEvent* e) {
  QAbstractScrollArea::resizeEvent(e);
  fitScreen();
}

void TerminalDisplay::fitScreen() {
  const int rows = std::max(1, viewport()->height() / cellHeight_);
  const int cols = std::max(1, viewport()->width() / cellWidth_);
  if (rows == screen_->rows() && cols == screen_->cols()) return;
  const bool atBottom = verticalScrollBar()->value() >= verticalScrollBar()->maximum();
  screen_->resize(rows, cols);
  updateScrollRange();
  if (atBottom) verticalScrollBar()->setValue(verticalScrollBar()->maximum());
  viewport()->update();
  emit sizeChanged(rows, cols);
}

void TerminalDisplay::scrollContentsBy(int, int) {
  viewport()->update();
}

QPoint TerminalDisplay::cellAt(const QPoint& pixel) const {
  const int col = std::clamp((pixel.x() + cellWidth_ / 2) / cellWidth_, 0, screen_->cols());
  const int row = std::clamp(pixel.y() / cellHeight_, 0, screen_->rows() - 1);
  return {col, verticalScrollBar()->value() + row};  // absolute line
}

void TerminalDisplay::mousePressEvent(QMouseEvent* e) {
  if (e->button() == Qt::MiddleButton) return paste();
  if (e->button() != Qt::LeftButton) return;
  selectionStart_ = selectionEnd_ = cellAt(e->position().toPoint());
  viewport()->update();
}

void TerminalDisplay::mouseMoveEvent(QMouseEvent* e) {
  if (!(e->buttons() & Qt::LeftButton)) return;
  selectionEnd_ = cellAt(e->position().toPoint());
  viewport()->update();
}

void TerminalDisplay::paintEvent(QPaintEvent* e) {
  QPainter p(viewport());
  p.fillRect(e->rect(), screen_->defaultBackground());
  const int first = std::max(0, e->rect().top() / cellHeight_);
  const int last = std::min(screen_->rows() - 1, e->rect().bottom() / cellHeight_);
  for (int row = first; row <= last; ++row) paintRow(p, row);
  paintCursor(p);
  paintSelection(p);
}

// Runs of cells that look alike are drawn with one drawText.
void TerminalDisplay::paintRow(QPainter& p, int viewRow) {
  const int row = topRow() + viewRow, y = viewRow * cellHeight_;
  QFont f = font();
  for (int col = 0; col < screen_->cols();) {
    const VtermScreen::Cell first = screen_->cell(row, col);
    QString run = first.text.isEmpty() ? QStringLiteral(" ") : first.text;
    int end = col + std::max(1, first.width);
    while (end < screen_->cols()) {
      const VtermScreen::Cell c = screen_->cell(row, end);
      if (c.fg != first.fg || c.bg != first.bg || c.bold != first.bold ||
          c.italic != first.italic || c.underline != first.underline ||
          c.reverse != first.reverse || c.width != 1) {
        break;
      }
      run += c.text.isEmpty() ? QStringLiteral(" ") : c.text;
      ++end;
    }
    QColor fg = first.fg, bg = first.bg.isValid() ? first.bg : screen_->defaultBackground();
    if (first.reverse) std::swap(fg, bg);
    const QRect area(col * cellWidth_, y, (end - col) * cellWidth_, cellHeight_);
    if (bg != screen_->defaultBackground()) p.fillRect(area, bg);
    if (!run.trimmed().isEmpty() || first.underline) {
      f.setBold(first.bold);
      f.setItalic(first.italic);
      f.setUnderline(first.underline);
      p.setFont(f);
      p.setPen(fg);
      p.drawText(area.x(), y + ascent_, run);
    }
    col = end;
  }
}

void TerminalDisplay::paintCursor(QPainter& p) {
  if (!screen_->cursorVisible() || !inputEnabled_) return;
  const QPoint c = screen_->cursor();
  const QRect cell((c.x()) * cellWidth_, (c.y() - topRow()) * cellHeight_, cellWidth_, cellHeight_);
  if (hasFocus()) {
    p.fillRect(cell, screen_->defaultForeground());
    p.setPen(screen_->defaultBackground());
    p.drawText(cell.x(), cell.y() + ascent_, screen_->cell(c.y(), c.x()).text);
  } else {
    p.setPen(screen_->defaultForeground());
    p.drawRect(cell.adjusted(0, 0, -1, -1));
  }
}

void TerminalDisplay::paintSelection(QPainter& p) {
  if (selectionStart_ == selectionEnd_) return;
  auto [from, to] = std::minmax(selectionStart_, selectionEnd_, [](QPoint a, QPoint b) {
    return std::pair(a.y(), a.x()) < std::pair(b.y(), b.x());
  });
  QColor highlight = palette().color(QPalette::Highlight);
  highlight.setAlpha(110);
  const int top = verticalScrollBar()->value();
  for (int line = from.y(); line <= to.y(); ++line) {
    const int x0 = line == from.y() ? from.x() : 0;
    const int x1 = line == to.y() ? to.x() : screen_->cols();
    p.fillRect(x0 * cellWidth_, (line - top) * cellHeight_, (x1 - x0) * cellWidth_, cellHeight_,
               highlight);
  }
}

// --- TerminalView --------------------------------------------------------------------------------

TerminalView::TerminalView(std::shared_ptr<client::ApiClient> client, QWidget* parent)
    : QWidget(parent), client_(std::move(client)) {
  title_ = new QLabel;
  containers_ = new QComboBox;
  containers_->setObjectName("container");
  containers_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  reconnect_ = new QPushButton(tr("Reconnect"));
  reconnect_->setObjectName("reconnect");
  reconnect_->setEnabled(false);
  status_ = new QLabel;
  status_->setObjectName("terminalStatus");
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  display_ = new TerminalDisplay;
  display_->setObjectName("terminal");

  auto* bar = new QHBoxLayout;
  bar->addWidget(title_);
  bar->addWidget(containers_);
  bar->addWidget(reconnect_);
  bar->addWidget(status_, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(bar);
  layout->addWidget(display_, 1);
  setFocusProxy(display_);

  connect(containers_, &QComboBox::currentIndexChanged, this, &TerminalView::reconnect);
  connect(reconnect_, &QPushButton::clicked, this, &TerminalView::reconnect);
  connect(display_, &TerminalDisplay::input, this, [this](const QByteArray& bytes) {
    if (session_ && !ended_) session_->write(std::string_view(bytes.data(), size_t(bytes.size())));
  });
  connect(display_, &TerminalDisplay::sizeChanged, this, [this](int rows, int cols) {
    if (session_ && !ended_) session_->resize({uint16_t(cols), uint16_t(rows)});
  });
}

TerminalView::~TerminalView() {
  stopSession();
}

void TerminalView::execInto(const json& pod, const QString& container) {
  pod_ = pod;
  target_ = "pod/" + podName(pod);
  title_->setText("<b>" + target_.toHtmlEscaped() + "</b>");
  const QString chosen =
      container.isEmpty() ? QString::fromStdString(client::defaultContainer(pod)) : container;
  {
    const QSignalBlocker block(containers_);
    containers_->clear();
    for (const auto& name : client::containersOf(pod).app) {
      containers_->addItem(QString::fromStdString(name));
    }
    containers_->setCurrentIndex(containers_->findText(chosen));
  }
  if (containers_->currentIndex() < 0) {
    display_->reset();
    return finish(-1, tr("container %1 is not valid for pod %2").arg(chosen, podName(pod)));
  }
  reconnect();
}

QString TerminalView::container() const {
  return containers_->currentText();
}

void TerminalView::reconnect() {
  stopSession();
  if (pod_.is_null() || containers_->currentIndex() < 0) return;
  display_->reset();
  display_->setFocus();
  ended_ = false;
  exitCode_ = -1;
  reconnect_->setEnabled(false);
  client::RemoteCommandQuery query;
  query.command = kShell;
  query.container = container().toStdString();
  query.input = true;
  query.tty = true;
  query.errorOutput = false;  // a terminal merges stderr into stdout
  const json& meta = api::metadataOf(pod_);
  const std::string path =
      client::ApiClient::resourcePath(*api::KindsRegistry::builtin().resolve("pods"),
                                      meta.value("namespace", ""), meta.value("name", ""), "exec") +
      client::remoteCommandQuery(query);
  session_ = std::make_shared<ExecSession>(
      [this] { QMetaObject::invokeMethod(this, &TerminalView::drain, Qt::QueuedConnection); });
  session_->start(client_, path, {uint16_t(display_->cols()), uint16_t(display_->rows())});
  showStatus(tr("Shell in %1, container %2").arg(target_, container()), false);
}

void TerminalView::stopSession() {
  if (session_) session_->stop();
  session_.reset();
}

void TerminalView::drain() {
  if (!session_) return;
  ExecSession::Batch b = session_->take(kBatchBytes);
  if (!b.output.empty()) display_->write(b.output);
  if (b.more) {
    QMetaObject::invokeMethod(this, &TerminalView::drain, Qt::QueuedConnection);
  } else if (b.ended && !ended_) {
    finish(b.exitCode, b.error);
  }
}

void TerminalView::finish(int exitCode, const QString& error) {
  ended_ = true;
  exitCode_ = error.isEmpty() ? exitCode : -1;
  const QString message = error.isEmpty() ? tr("session ended (exit code %1)").arg(exitCode)
                                          : tr("session ended: %1").arg(error);
  // Reverse video on a line of its own, below what the shell printed last.
  display_->write("\r\n\x1b[0;7m" + terminalLines(message) + "\x1b[0m\r\n");
  display_->setInputEnabled(false);
  reconnect_->setEnabled(true);
  showStatus(message, !error.isEmpty());
  emit sessionEnded(exitCode_);
}

void TerminalView::showStatus(const QString& text, bool error) {
  status_->setStyleSheet(error ? QStringLiteral("color: #c62828") : QString());
  status_->setText(text);
}

}  // namespace kd::dashboard
