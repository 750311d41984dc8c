/* Floor 3: AWS error bodies — JSON 1.0/1.1 (jansson) and S3 XML (expat). */
#include "aws_int.h"

#include <expat.h>

void tp_aws__norm_code(char *dst, size_t cap, const char *src, size_t len)
{
    if (cap == 0)
        return;
    dst[0] = 0;
    if (!src)
        return;
    /* "com.amazon.coral.service#ThrottlingException" -> after the last '#' */
    for (size_t i = len; i > 0; i--) {
        if (src[i - 1] == '#') {
            src += i;
            len -= i;
            break;
        }
    }
    /* "ThrottlingException:http://internal.amazon.com/..." -> before ':' */
    const char *colon = memchr(src, ':', len);
    if (colon)
        len = (size_t)(colon - src);
    while (len && (src[0] == ' ' || src[0] == '\t')) {
        src++;
        len--;
    }
    while (len && (src[len - 1] == ' ' || src[len - 1] == '\t'))
        len--;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch > ' ' && ch < 0x7f)
            dst[o++] = (char)ch;
    }
    dst[o] = 0;
}

/* Copy printable text (control bytes become spaces) into a fixed field. */
static void copy_text(char *dst, size_t cap, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[o++] = ch < ' ' || ch == 0x7f ? ' ' : (char)ch;
    }
    dst[o] = 0;
}

static const char *json_str(json_t *o, const char *k, size_t *len)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}

tp_status tp_aws__json_error(tp_aws_errinfo *out, tp_cursor body, tp_cursor error_type_header,
                             tp_cursor query_error_header, tp_error *err)
{
    memset(out, 0, sizeof *out);
    /* x-amzn-query-error: "AWS.SimpleQueueService.NonExistentQueue;Sender" */
    if (query_error_header.len) {
        const uint8_t *semi = memchr(query_error_header.ptr, ';', query_error_header.len);
        if (semi && semi != query_error_header.ptr) {
            size_t n = (size_t)(semi - query_error_header.ptr);
            if (n < sizeof out->code)
                copy_text(out->code, sizeof out->code, (const char *)query_error_header.ptr, n);
        }
    }
    if (!out->code[0] && error_type_header.len)
        tp_aws__norm_code(out->code, sizeof out->code, (const char *)error_type_header.ptr,
                          error_type_header.len);

    size_t i = 0;
    while (i < body.len && (body.ptr[i] == ' ' || body.ptr[i] == '\t' || body.ptr[i] == '\r' ||
                            body.ptr[i] == '\n'))
        i++;
    if (i == body.len)
        return out->code[0] ? TP_OK
                            : tp_error__set(err, TP_E_NOT_FOUND, "AWS error without a code");

    json_error_t je;
    json_t *root = json_loadb((const char *)body.ptr, body.len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        uint64_t off = root ? 0 : (uint64_t)(je.position > 0 ? je.position : 0);
        json_decref(root);
        if (out->code[0])
            return TP_OK;
        return tp_error__at(err, TP_E_PARSE, off, NULL,
                            "AWS JSON error body is not a JSON object%s%s", root ? "" : ": ",
                            root ? "" : je.text);
    }
    size_t n = 0;
    const char *s;
    if (!out->code[0]) {
        if ((s = json_str(root, "__type", &n)) != NULL ||
            (s = json_str(root, "code", &n)) != NULL || (s = json_str(root, "Code", &n)) != NULL)
            tp_aws__norm_code(out->code, sizeof out->code, s, n);
    }
    if ((s = json_str(root, "message", &n)) != NULL ||
        (s = json_str(root, "Message", &n)) != NULL ||
        (s = json_str(root, "errorMessage", &n)) != NULL)
        copy_text(out->message, sizeof out->message, s, n);
    json_decref(root);
    if (!out->code[0])
        return tp_error__set(err, TP_E_NOT_FOUND, "AWS error without a code");
    return TP_OK;
}

/* ---- XML walker ---------------------------------------------------------- */

#define XML_TEXT_MAX ((size_t)1 << 20)

typedef struct walk {
    XML_Parser p;
    tp_xml_fn fn;
    void *payload;
    tp_error *err;
    tp_status st;
    size_t depth;
    size_t path_len[TP_XML_MAX_DEPTH + 1];
    int had_child[TP_XML_MAX_DEPTH + 1];
    char path[1024];
    size_t plen;
    tp_buf text;
} walk;

/* The byte offset expat is at. Some expat builds answer -1 before the first
 * byte is taken (an empty document): the fault is then at byte 0. */
static uint64_t xml_offset(XML_Parser p)
{
    XML_Index i = XML_GetCurrentByteIndex(p);
    return i < 0 ? 0 : (uint64_t)i;
}

static void walk_fail(walk *w, tp_status st)
{
    if (w->st == TP_OK)
        w->st = st;
    XML_StopParser(w->p, XML_FALSE);
}

static const char *local_name(const char *name)
{
    /* namespace-aware parser: "uri|local" */
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    walk *w = ud;
    (void)attrs;
    if (w->st != TP_OK)
        return;
    if (w->depth >= TP_XML_MAX_DEPTH) {
        walk_fail(w, tp_error__at(w->err, TP_E_TOO_LARGE, xml_offset(w->p), NULL,
                                  "XML nested deeper than %d elements", TP_XML_MAX_DEPTH));
        return;
    }
    if (w->depth)
        w->had_child[w->depth] = 1;
    const char *ln = local_name(name);
    size_t n = strlen(ln);
    size_t need = w->plen + (w->plen ? 1 : 0) + n;
    if (need >= sizeof w->path) {
        walk_fail(w, tp_error__at(w->err, TP_E_TOO_LARGE, xml_offset(w->p), NULL,
                                  "XML element path too long"));
        return;
    }
    w->depth++;
    w->path_len[w->depth] = w->plen;
    w->had_child[w->depth] = 0;
    if (w->plen)
        w->path[w->plen++] = '/';
    memcpy(w->path + w->plen, ln, n);
    w->plen += n;
    w->path[w->plen] = 0;
    tp_buf_clear(&w->text);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    walk *w = ud;
    (void)name;
    if (w->st != TP_OK || w->depth == 0)
        return;
    int leaf = !w->had_child[w->depth];
    tp_cursor text = leaf ? tp_buf_cursor(&w->text) : tp_cursor_make("", 0);
    tp_status st = w->fn(w->payload, w->path, w->depth, text, leaf, w->err);
    if (st != TP_OK) {
        walk_fail(w, st);
        return;
    }
    w->plen = w->path_len[w->depth];
    w->path[w->plen] = 0;
    w->depth--;
    tp_buf_clear(&w->text);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    walk *w = ud;
    if (w->st != TP_OK || w->depth == 0 || len <= 0)
        return;
    if (w->had_child[w->depth])
        return; /* whitespace between children */
    tp_status st = tp_buf_append(&w->text, s, (size_t)len, w->err);
    if (st != TP_OK) {
        if (st == TP_E_TOO_LARGE)
            tp_error__at(w->err, st, xml_offset(w->p), NULL, "XML element text over %zu bytes",
                         XML_TEXT_MAX);
        walk_fail(w, st);
    }
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    walk *w = ud;
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal;
    walk_fail(w, tp_error__at(w->err, TP_E_PARSE, xml_offset(w->p), NULL,
                              "XML DOCTYPE declarations are not accepted"));
}

tp_status tp_xml__walk(tp_cursor xml, tp_xml_fn fn, void *payload, const tp_allocator *alloc,
                       tp_error *err)
{
    walk w;
    memset(&w, 0, sizeof w);
    w.fn = fn;
    w.payload = payload;
    w.err = err;
    tp_buf_init(&w.text, alloc, XML_TEXT_MAX);
    if (xml.len > INT32_MAX)
        return tp_error__set(err, TP_E_TOO_LARGE, "XML document over 2 GiB");
    w.p = XML_ParserCreateNS(NULL, '|');
    if (!w.p)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating an XML parser");
    XML_SetUserData(w.p, &w);
    XML_SetElementHandler(w.p, on_start, on_end);
    XML_SetCharacterDataHandler(w.p, on_text);
    XML_SetStartDoctypeDeclHandler(w.p, on_doctype);
    enum XML_Status xs = XML_Parse(w.p, xml.ptr ? (const char *)xml.ptr : "", (int)xml.len, 1);
    if (w.st == TP_OK && xs != XML_STATUS_OK) {
        enum XML_Error code = XML_GetErrorCode(w.p);
        w.st = tp_error__at(err, code == XML_ERROR_NO_MEMORY ? TP_E_NOMEM : TP_E_PARSE,
                            xml_offset(w.p), NULL, "XML: %s", XML_ErrorString(code));
        if (err)
            err->line = (uint32_t)XML_GetCurrentLineNumber(w.p);
    }
    XML_ParserFree(w.p);
    tp_buf_dispose(&w.text);
    return w.st;
}

static tp_status s3_err_leaf(void *payload, const char *path, size_t depth, tp_cursor text,
                             int leaf, tp_error *err)
{
    tp_aws_errinfo *out = payload;
    (void)err;
    if (!leaf || depth != 2 || strncmp(path, "Error/", 6) != 0)
        return TP_OK;
    const char *k = path + 6;
    if (strcmp(k, "Code") == 0)
        tp_aws__norm_code(out->code, sizeof out->code, (const char *)text.ptr, text.len);
    else if (strcmp(k, "Message") == 0)
        copy_text(out->message, sizeof out->message, (const char *)text.ptr, text.len);
    else if (strcmp(k, "RequestId") == 0)
        copy_text(out->request_id, sizeof out->request_id, (const char *)text.ptr, text.len);
    return TP_OK;
}

tp_status tp_aws__s3_error(tp_aws_errinfo *out, tp_cursor body, const tp_allocator *alloc,
                           tp_error *err)
{
    memset(out, 0, sizeof *out);
    tp_status st = tp_xml__walk(body, s3_err_leaf, out, alloc, err);
    if (st != TP_OK)
        return st;
    if (!out->code[0])
        return tp_error__set(err, TP_E_NOT_FOUND, "S3 error body without Error/Code");
    return TP_OK;
}

tp_status tp_aws__fail(tp_error *err, tp_status st, int32_t http_status, const tp_aws_errinfo *info,
                       uint32_t attempts, const char *what)
{
    if (!err)
        return st;
    if (info && info->code[0]) {
        tp_error__set(err, st, "%s: %s%s%s", what, info->code, info->message[0] ? ": " : "",
                      info->message);
        tp__strlcpy(err->aws_code, info->code, sizeof err->aws_code);
    } else if (err->code != st || !err->message[0]) {
        tp_error__set(err, st, "%s: HTTP %d", what, (int)http_status);
    }
    err->code = st;
    err->http_status = http_status;
    err->attempts = attempts;
    if (info && info->request_id[0])
        tp__strlcpy(err->request_id, info->request_id, sizeof err->request_id);
    return st;
}
