#pragma once
// TerminalView: an interactive shell in a pod's container, as `kdctl exec -it POD -- sh` gives
// one: pods/exec with a TTY over the client library's remote-command session
// (engine/client/remote_stream.h), shown in a terminal emulated by libvterm (VtermScreen).
//
// The command is a shell the way Lens starts one: bash where the image has it, else sh. The
// container picker lists the pod's app containers; choosing another, or "Reconnect" after the
// shell ended, starts a new session. When the command ends the terminal says
// "session ended (exit code N)", or why the session could not start or broke (the server's
// Status message).
//
// Threading: the session runs on a thread of its own (it lasts as long as the shell); output
// reaches the GUI thread in batches through queued calls, keys go to the session without
// waiting for it. Construct, use and destroy on the GUI thread; destroying the view ends the
// session.

#include <QAbstractScrollArea>
#include <QByteArray>
#include <QRegion>
#include <QWidget>
#include <memory>
#include <string_view>

#include "dashboard/vterm_screen.h"
#include "engine/api/status.h"
#include "engine/client/api_client.h"

class QComboBox;
class QLabel;
class QPushButton;

namespace kd::dashboard {

class ExecSession;

// The terminal itself: paints a VtermScreen (colours, bold, italic, underline, reverse, the
// cursor; only damaged cells are repainted), turns keys into terminal input, keeps the screen
// as large as the widget, scrolls back through the scrollback (wheel, Shift+PageUp/Down),
// selects with the mouse, copies with Ctrl+Shift+C and pastes with Ctrl+Shift+V.
class TerminalDisplay : public QAbstractScrollArea {
  Q_OBJECT

 public:
  static constexpr int kScrollbackLines = 5000;

  explicit TerminalDisplay(QWidget* parent = nullptr);
  ~TerminalDisplay() override;

  // Feeds the remote program's output.
  void write(std::string_view bytes);
  // A blank screen and scrollback.
  void reset();
  // Whether keys are sent (false once the session ended).
  void setInputEnabled(bool on) { inputEnabled_ = on; }

  int rows() const { return screen_->rows(); }
  int cols() const { return screen_->cols(); }
  const VtermScreen& screen() const { return *screen_; }
  // The visible screen, one line per row, trailing blanks removed.
  QString screenText() const;
  QString selectedText() const;

 public slots:
  void copy();
  void paste();

 signals:
  // Bytes for the remote program (keys, pasted text, answers to its queries).
  void input(const QByteArray& bytes);
  // The screen now has `rows` x `cols` cells.
  void sizeChanged(int rows, int cols);

 protected:
  bool event(QEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;
  void paintEvent(QPaintEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;
  void scrollContentsBy(int dx, int dy) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  bool focusNextPrevChild(bool) override { return false; }  // Tab belongs to the shell

 private:
  void connectScreen();
  bool sendKey(QKeyEvent* e);
  int topRow() const;
  QPoint cellAt(const QPoint& pixel) const;
  void paintRow(QPainter& p, int viewRow);
  void paintCursor(QPainter& p);
  void paintSelection(QPainter& p);
  void updateScrollRange();
  void fitScreen();

  std::unique_ptr<VtermScreen> screen_;
  QRegion damaged_;  // cells (columns x, screen rows y), collected during write()
  int cellWidth_ = 8, cellHeight_ = 16, ascent_ = 12;
  bool inputEnabled_ = true;
  // Selection ends as (column, absolute line: scrollback lines count from 0 at the oldest).
  QPoint selectionStart_, selectionEnd_;
  bool selecting_ = false;
};

class TerminalView : public QWidget {
  Q_OBJECT

 public:
  // `client`: ClusterSession::clientPtr(); the view's exec session holds it.
  explicit TerminalView(std::shared_ptr<client::ApiClient> client, QWidget* parent = nullptr);
  ~TerminalView() override;

  // Opens a shell in `container` of `pod` (its default container when empty) at once.
  void execInto(const json& pod, const QString& container = {});

  // "pod/web-1".
  QString target() const { return target_; }
  QString container() const;
  // The visible terminal screen (TerminalDisplay::screenText).
  QString screenText() const { return display_->screenText(); }
  bool running() const { return session_ != nullptr && !ended_; }
  // The exit code of the ended command; -1 while running or when it did not run to the end.
  int exitCode() const { return exitCode_; }

  TerminalDisplay* display() const { return display_; }
  QComboBox* containerPicker() const { return containers_; }
  QLabel* statusLabel() const { return status_; }

 public slots:
  // Ends the current session, if any, and starts a new one in the chosen container.
  void reconnect();

 signals:
  // The command ended with `exitCode` (-1: the session failed; statusLabel() says why).
  void sessionEnded(int exitCode);

 private:
  void stopSession();
  void drain();
  void finish(int exitCode, const QString& error);
  void showStatus(const QString& text, bool error);

  std::shared_ptr<client::ApiClient> client_;
  json pod_;
  QString target_;
  std::shared_ptr<ExecSession> session_;
  bool ended_ = false;
  int exitCode_ = -1;

  QLabel* title_;
  QComboBox* containers_;
  QPushButton* reconnect_;
  QLabel* status_;
  TerminalDisplay* display_;
};

}  // namespace kd::dashboard
