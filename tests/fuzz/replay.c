/* Plain driver for the fuzz targets: feeds every file named on the command
 * line (directories are walked one level) to LLVMFuzzerTestOneInput once.
 * A path after --optional may be missing (a target's regressions/ folder,
 * there once scripts/fuzz found something). It sets TP_FUZZ_REPLAY=1:
 * targets that sample their slow checks while fuzzing make them all. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return 1;
    }
    for (;;) {
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return 1;
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    /* Copy into an exact-size block so ASan sees reads past the end. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, bad = 0, optional = 0;
    /* Targets that run their slow checks on a sample of inputs while
     * fuzzing run them on every input replayed. */
    setenv("TP_FUZZ_REPLAY", "1", 1);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (strcmp(argv[i], "--optional") == 0) {
            optional = 1;
            continue;
        }
        if (stat(argv[i], &st) != 0) {
            if (optional) {
                optional = 0;
                continue;
            }
            perror(argv[i]);
            return 1;
        }
        optional = 0;
        if (!S_ISDIR(st.st_mode)) {
            bad |= run_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            perror(argv[i]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            bad |= run_file(path);
            files++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", files);
    if (files == 0) {
        fprintf(stderr, "no corpus files: nothing was tested\n");
        return 1;
    }
    return bad;
}
