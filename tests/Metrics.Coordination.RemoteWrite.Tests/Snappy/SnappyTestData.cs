using System.Text;

namespace Metrics.Coordination.RemoteWrite.Tests.Snappy;

/// <summary>Kinds of test input, each built deterministically from a seed.</summary>
public enum DataKind
{
    Random,
    Repetitive,
    Text,
    Zeros,
    Mixed,
}

public static class SnappyTestData
{
    public static byte[] Make(DataKind kind, int size, int seed)
    {
        var random = new Random(seed);
        var data = new byte[size];
        switch (kind)
        {
            case DataKind.Random:
                random.NextBytes(data);
                break;
            case DataKind.Repetitive:
                // A short random pattern repeated (overlapping copies), with occasional changed bytes.
                var pattern = new byte[random.Next(1, 20)];
                random.NextBytes(pattern);
                for (var i = 0; i < size; i++)
                {
                    data[i] = random.Next(200) == 0 ? (byte)random.Next(256) : pattern[i % pattern.Length];
                }

                break;
            case DataKind.Text:
                var words = new[] { "http_requests_total", "method", "GET", "POST", "status", "200", "500", "instance", "127.0.0.1:9090", "job", "api", "le", "0.005", "+Inf" };
                var text = new StringBuilder(size + 32);
                while (text.Length < size)
                {
                    text.Append(words[random.Next(words.Length)]).Append(random.Next(4) == 0 ? '\n' : ' ');
                    if (random.Next(10) == 0)
                    {
                        text.Append(random.NextInt64().ToString(System.Globalization.CultureInfo.InvariantCulture));
                    }
                }

                Encoding.ASCII.GetBytes(text.ToString(0, size), data);
                break;
            case DataKind.Zeros:
                break;
            case DataKind.Mixed:
                var at = 0;
                while (at < size)
                {
                    var run = Math.Min(size - at, random.Next(1, 5000));
                    var part = Make((DataKind)random.Next(4), run, random.Next());
                    part.CopyTo(data, at);
                    at += run;
                }

                break;
        }

        return data;
    }
}
