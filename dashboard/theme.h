#pragma once
// Light and dark themes. By default the app follows the desktop: it keeps the platform's palette
// and reads whether it is dark from the window colour's lightness (Qt 6.4 has no
// QStyleHints::colorScheme), re-reading it when the platform changes palette or theme. The
// person may instead pick Light or Dark (View ▸ Theme), which sets a Fusion palette.
// Everything that draws its own colours (status_style.h) decides from the palette in use.
// GUI thread only.

#include <QColor>
#include <QObject>
#include <QPalette>
#include <QString>

namespace kd::dashboard {

enum class Theme { System, Light, Dark };

// "system", "light", "dark" (the QSettings value); unknown names read as System.
QString themeName(Theme theme);
Theme themeFromName(const QString& name);

// A colour reads as dark below half HSL lightness; a palette by its window colour.
bool isDarkColor(const QColor& color);
bool isDark(const QPalette& palette);
QPalette lightPalette();
QPalette darkPalette();
// The WCAG 2 contrast ratio of two colours, 1 (same) to 21 (black on white).
double contrastRatio(const QColor& a, const QColor& b);

class ThemeController : public QObject {
  Q_OBJECT

 public:
  // Watches the application for palette and theme changes; one per application.
  explicit ThemeController(QObject* parent = nullptr);

  Theme choice() const { return choice_; }
  // Whether the palette in use is dark.
  bool dark() const { return dark_; }

 public slots:
  void setChoice(kd::dashboard::Theme theme);

 signals:
  // The palette in use changed between light and dark (by choice or by the desktop).
  void darkChanged(bool dark);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void recheck();

  Theme choice_ = Theme::System;
  bool dark_;
  QString platformStyle_;  // restored when going back to System
};

}  // namespace kd::dashboard
