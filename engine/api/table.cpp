#include "engine/api/table.h"
