#ifndef TRADEPIPE_H
#define TRADEPIPE_H

/* libtradepipe: everything. Each module's header can also be included alone. */
#include "tradepipe/common.h"
#include "tradepipe/core.h"
#include "tradepipe/credentials.h"
#include "tradepipe/engine.h"
#include "tradepipe/price.h"
#include "tradepipe/reader.h"
#include "tradepipe/record.h"
#include "tradepipe/sigv4.h"
#include "tradepipe/stats.h"
#include "tradepipe/store.h"
#include "tradepipe/version.h"

#endif
