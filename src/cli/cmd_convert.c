/* cmd_convert.c — `dqr convert IN OUT [--ts SYNTAX] [--no-sync]`: rewrite a file, in
 * another transfer syntax if asked. Between native syntaxes the codec
 * rewrites the elements; to or from a compressed one the pixels go through
 * the pixel edit engine with no region (px_transcode_attach: decoded and
 * encoded frame by frame as the file is written). Lossy targets are
 * refused: dqr never loses pixels it was not asked to remove. */
#include "cli/cli.h"
#include "dicom/dicom.h"
#include "pixel/pixel.h"

#include <string.h>

#define TS_RLE "1.2.840.10008.1.2.5"
#define TS_JPEGLS "1.2.840.10008.1.2.4.80"
#define TS_J2K_LOSSLESS "1.2.840.10008.1.2.4.90"
#define TS_JPEG_SV1 "1.2.840.10008.1.2.4.70"
#define TS_JPEG_LOSSLESS "1.2.840.10008.1.2.4.57"

static const struct {
    const char *name, *uid;
} ALIASES[] = {
    {"implicit", DCM_TS_IMPLICIT_LE}, {"explicit", DCM_TS_EXPLICIT_LE}, {"big", DCM_TS_EXPLICIT_BE},
    {"deflate", DCM_TS_DEFLATED_LE},  {"rle", TS_RLE},                  {"jpeg-ls", TS_JPEGLS},
    {"j2k-lossless", TS_J2K_LOSSLESS}, {"jpeg-lossless", TS_JPEG_SV1},
};

static const char *syntax_uid(const char *name)
{
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (strcmp(name, ALIASES[i].name) == 0)
            return ALIASES[i].uid;
    return dcm_ts_lookup(name) ? name : NULL;
}

/* The compressed syntaxes dqr writes: lossless ones it has an encoder for. */
static bool encodable(const char *ts)
{
    return strcmp(ts, TS_RLE) == 0 || strcmp(ts, TS_JPEGLS) == 0 || strcmp(ts, TS_J2K_LOSSLESS) == 0 ||
           strcmp(ts, TS_JPEG_SV1) == 0 || strcmp(ts, TS_JPEG_LOSSLESS) == 0;
}

/* Arrange for *f's pixels to be written in ts (a new *f for big endian,
 * which the frame-by-frame writer does not produce: decoded to memory). */
static dqr_status transcode(dcm_file **f, const char *ts, dqr_error *err)
{
    const dcm_element *px = dcm_dataset_get(dcm_file_dataset(*f), DCM_TAG_PIXEL_DATA);
    const dcm_uid_entry *t = dcm_ts_lookup(ts);
    bool to_encapsulated = t->flags & DCM_TS_ENCAPSULATED;
    if (!px || strcmp(ts, dcm_file_transfer_syntax(*f)) == 0 || (!dcm_element_is_encapsulated(px) && !to_encapsulated))
        return DQR_OK; /* the codec rewrites the elements; the pixels are copied */
    if (to_encapsulated && !encodable(ts))
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "%s (%s) is lossy or has no encoder here: dqr writes rle, jpeg-ls, j2k-lossless, "
                             "jpeg-lossless and the native syntaxes", ts, t->name);
    if (!(t->flags & DCM_TS_BIG_ENDIAN))
        return px_transcode_attach(*f, NULL, ts, err);
    dcm_file *copy = NULL;
    dqr_status st = px_transcode_attach(*f, NULL, DCM_TS_EXPLICIT_LE, err);
    if (!st)
        st = px_file_as_written(*f, &copy, err);
    if (!st) {
        dcm_file_close(*f);
        *f = copy;
    }
    return st;
}

int cmd_convert(int argc, char **argv)
{
    const dqr_command *self = cli_find("convert");
    const char *in = NULL, *out = NULL, *ts = NULL;
    bool no_sync = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-sync") == 0) {
            no_sync = true;
        } else if (strcmp(argv[i], "--ts") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(self, "--ts needs a value");
            if (!(ts = syntax_uid(argv[++i])))
                return cli_usage_error(self, "unknown transfer syntax '%s'", argv[i]);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(self, "unknown option '%s'", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return cli_usage_error(self, "too many arguments");
        }
    }
    if (!in || !out)
        return cli_usage_error(self, "needs IN and OUT");
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(in, &err);
    if (!f) {
        cli_error("%s", err.message);
        return DQR_EXIT_FAIL;
    }
    dcm_write_options opts = {.transfer_syntax = ts, .keep_meta = true, .no_sync = no_sync};
    dqr_status s = ts ? transcode(&f, ts, &err) : DQR_OK;
    if (s)
        cli_error("%s: %s", in, err.message);
    else if ((s = dcm_file_write(f, out, &opts, &err)))
        cli_error("%s", err.message); /* it names the file */
    dcm_file_close(f);
    if (s)
        return DQR_EXIT_FAIL;
    return DQR_EXIT_OK;
}
