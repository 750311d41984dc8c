#ifndef TRADEPIPE_H
#define TRADEPIPE_H

/* libtradepipe: everything. Each module's header can also be included alone. */
#include "tradepipe/common.h"
#include "tradepipe/core.h"
#include "tradepipe/aws.h"
#include "tradepipe/checkpoint.h"
#include "tradepipe/credentials.h"
#include "tradepipe/credentials_net.h"
#include "tradepipe/dynamodb.h"
#include "tradepipe/engine.h"
#include "tradepipe/firehose.h"
#include "tradepipe/gen.h"
#include "tradepipe/http.h"
#include "tradepipe/kinesis.h"
#include "tradepipe/kpl.h"
#include "tradepipe/lambda.h"
#include "tradepipe/lease.h"
#include "tradepipe/price.h"
#include "tradepipe/producer.h"
#include "tradepipe/reader.h"
#include "tradepipe/record.h"
#include "tradepipe/s3.h"
#include "tradepipe/sigv4.h"
#include "tradepipe/stats.h"
#include "tradepipe/store.h"
#include "tradepipe/stream.h"
#include "tradepipe/version.h"

#endif
