/* The decompression ceiling for tp-parse on .gz input: inflate a gzip file
 * (multi-member) with zlib in one thread and discard the output. Prints
 * the uncompressed byte count. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: inflate_only FILE.gz\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 2;
    }
    static unsigned char in[1 << 18], out[1 << 18];
    z_stream zs = {0};
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return 2;
    unsigned long long total = 0;
    ssize_t n;
    int end = 0;
    while ((n = read(fd, in, sizeof in)) > 0) {
        zs.next_in = in;
        zs.avail_in = (uInt)n;
        while (zs.avail_in > 0) {
            if (end) {
                inflateReset(&zs);
                end = 0;
            }
            zs.next_out = out;
            zs.avail_out = sizeof out;
            int r = inflate(&zs, Z_NO_FLUSH);
            total += sizeof out - zs.avail_out;
            if (r == Z_STREAM_END)
                end = 1;
            else if (r != Z_OK && r != Z_BUF_ERROR) {
                fprintf(stderr, "inflate error %d\n", r);
                return 1;
            }
        }
    }
    inflateEnd(&zs);
    close(fd);
    printf("%llu\n", total);
    return 0;
}
