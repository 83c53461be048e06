using System.Numerics;

namespace Metrics.Coordination.Tsdb.Tests.Chunks;

/// <summary>
/// An independent XOR chunk encoder and decoder written straight from the fact sheet
/// (shared/reference/prometheus-tsdb-format.md §4), deliberately naive: a list of bits, one bool per bit, no
/// accumulators, no shared code with the production encoder. It is the from-spec oracle the production codec is
/// compared with (a port of the fact sheet's Python checker, so CI needs no ../shared checkout).
/// </summary>
internal static class ReferenceXorEncoder
{
    public static byte[] Encode(IReadOnlyList<(long T, ulong V)> samples, bool legacy = false)
    {
        var bits = new List<bool>();
        var spare = false;

        void Put(ulong value, int count)
        {
            // Prometheus < 3.0: a whole-bytes write starting on a byte boundary leaves a spare zero byte.
            spare = count >= 8 && count % 8 == 0 && bits.Count % 8 == 0;
            for (var i = count - 1; i >= 0; i--)
            {
                bits.Add(((value >> i) & 1) == 1);
            }
        }

        void PutUvarint(ulong x)
        {
            while (x >= 0x80)
            {
                Put((x & 0x7F) | 0x80, 8);
                x >>= 7;
            }

            Put(x, 8);
        }

        static bool Fits(BigInteger x, int n) => x >= -((BigInteger.One << (n - 1)) - 1) && x <= BigInteger.One << (n - 1);

        int? leading = null;
        var trailing = 0;
        long prevT = 0;
        ulong prevV = 0;
        long delta = 0;
        for (var i = 0; i < samples.Count; i++)
        {
            var (t, v) = samples[i];
            if (i == 0)
            {
                PutUvarint((ulong)((t << 1) ^ (t >> 63)));
                Put(v, 64);
            }
            else
            {
                if (i == 1)
                {
                    delta = t - prevT;
                    PutUvarint((ulong)delta);
                }
                else
                {
                    var newDelta = t - prevT;
                    var dod = (BigInteger)newDelta - delta;
                    delta = newDelta;
                    if (dod.IsZero)
                    {
                        Put(0, 1);
                    }
                    else if (Fits(dod, 14))
                    {
                        Put(0b10, 2);
                        Put((ulong)(long)dod, 14);
                    }
                    else if (Fits(dod, 17))
                    {
                        Put(0b110, 3);
                        Put((ulong)(long)dod, 17);
                    }
                    else if (Fits(dod, 20))
                    {
                        Put(0b1110, 4);
                        Put((ulong)(long)dod, 20);
                    }
                    else
                    {
                        Put(0b1111, 4);
                        Put((ulong)(long)dod, 64);
                    }
                }

                var x = v ^ prevV;
                if (x == 0)
                {
                    Put(0, 1);
                }
                else
                {
                    Put(1, 1);
                    var lz = Math.Min(BitOperations.LeadingZeroCount(x), 31);
                    var tz = BitOperations.TrailingZeroCount(x);
                    if (leading is { } l && lz >= l && tz >= trailing)
                    {
                        Put(0, 1);
                        Put(x >> trailing, 64 - l - trailing);
                    }
                    else
                    {
                        leading = lz;
                        trailing = tz;
                        var sig = 64 - lz - tz;
                        Put(1, 1);
                        Put((ulong)lz, 5);
                        Put((ulong)(sig & 0x3F), 6);
                        Put(x >> tz, sig);
                    }
                }
            }

            prevT = t;
            prevV = v;
        }

        var n = samples.Count;
        var bytes = new List<byte> { (byte)(n >> 8), (byte)n };
        for (var i = 0; i < bits.Count; i += 8)
        {
            byte b = 0;
            for (var j = 0; j < 8; j++)
            {
                b = (byte)((b << 1) | (i + j < bits.Count && bits[i + j] ? 1 : 0));
            }

            bytes.Add(b);
        }

        if (legacy && spare)
        {
            bytes.Add(0);
        }

        return [.. bytes];
    }

    public static List<(long T, ulong V)> Decode(byte[] data)
    {
        var pos = 16;
        ulong Bits(int k)
        {
            ulong r = 0;
            for (var i = 0; i < k; i++, pos++)
            {
                r = (r << 1) | (uint)((data[pos / 8] >> (7 - (pos % 8))) & 1);
            }

            return r;
        }

        ulong Uvarint()
        {
            ulong x = 0;
            for (var s = 0; ; s += 7)
            {
                var c = Bits(8);
                x |= (c & 0x7F) << s;
                if (c < 0x80)
                {
                    return x;
                }
            }
        }

        var n = (data[0] << 8) | data[1];
        var outList = new List<(long, ulong)>();
        if (n == 0)
        {
            return outList;
        }

        var zz = Uvarint();
        var t = (long)(zz >> 1) ^ -(long)(zz & 1);
        var v = Bits(64);
        outList.Add((t, v));
        int lead = 0, trail = 0;
        long delta = 0;
        for (var i = 1; i < n; i++)
        {
            if (i == 1)
            {
                delta = (long)Uvarint();
            }
            else
            {
                var sz = 0;
                if (Bits(1) == 1)
                {
                    sz = Bits(1) == 0 ? 14 : Bits(1) == 0 ? 17 : Bits(1) == 0 ? 20 : 64;
                }

                long dod = 0;
                if (sz == 64)
                {
                    dod = (long)Bits(64);
                }
                else if (sz > 0)
                {
                    var u = Bits(sz);
                    dod = u > 1UL << (sz - 1) ? (long)u - (1L << sz) : (long)u;
                }

                delta += dod;
            }

            t += delta;
            if (Bits(1) == 1)
            {
                if (Bits(1) == 1)
                {
                    lead = (int)Bits(5);
                    var sig = (int)Bits(6);
                    trail = 64 - lead - (sig == 0 ? 64 : sig);
                }

                v ^= Bits(64 - lead - trail) << trail;
            }

            outList.Add((t, v));
        }

        return outList;
    }
}
