#include "engine/api/openapi.h"
