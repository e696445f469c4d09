#include "engine/api/selectors.h"
