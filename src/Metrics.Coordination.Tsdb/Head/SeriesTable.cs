using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Tsdb.Head;

/// <summary>
/// The head's series, found two ways: by reference (a paged array, the appender's fast path: two loads) and by label
/// set (256 lock stripes, each a power-of-two bucket array chained through <see cref="MemSeries.NextInBucket"/> and
/// resolved by hash, then exact label comparison).
/// </summary>
/// <remarks>
/// The chained buckets cost 8–16 bytes per series (load factor ½ to 1); a <c>Dictionary&lt;ulong, MemSeries&gt;</c>
/// per stripe cost ~28 bytes per entry plus its prime-sized slack, ~40 on average (issue 5's per-series budget).
/// </remarks>
internal sealed class SeriesTable
{
    private const int StripeCount = 256;
    private const int PageBits = 12;
    private const int PageSize = 1 << PageBits;

    /// <summary>References above this are refused (corrupt input), which bounds the page directory at 2^28 entries.</summary>
    private const ulong MaxRef = 1UL << 40;

    private readonly Stripe[] _stripes;
    private readonly Lock _pagesLock = new();
    private MemSeries?[]?[] _pages = new MemSeries?[]?[16];
    private int[] _pageCounts = new int[16];
    private long _lastRef;
    private int _count;

    public SeriesTable()
    {
        _stripes = new Stripe[StripeCount];
        for (var i = 0; i < StripeCount; i++)
        {
            _stripes[i] = new Stripe();
        }
    }

    /// <summary>The number of series.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The highest reference handed out so far.</summary>
    public ulong LastRef => (ulong)Interlocked.Read(ref _lastRef);

    /// <summary>The series with reference <paramref name="reference"/>, or null.</summary>
    public MemSeries? GetByRef(ulong reference)
    {
        var pages = Volatile.Read(ref _pages);
        var page = reference >> PageBits;
        if (page >= (ulong)pages.Length)
        {
            return null;
        }

        var p = pages[page];
        return p is null ? null : Volatile.Read(ref p[reference & (PageSize - 1)]);
    }

    /// <summary>The series with exactly <paramref name="labels"/>, or null.</summary>
    public MemSeries? GetByLabels(Labels labels)
    {
        var stripe = _stripes[labels.Hash & (StripeCount - 1)];
        lock (stripe.Lock)
        {
            return Find(stripe, labels);
        }
    }

    /// <summary>
    /// The series with <paramref name="labels"/>, created (with a new reference, or <paramref name="reference"/> when
    /// non-zero, as in WAL replay) by <paramref name="create"/> when absent.
    /// </summary>
    public MemSeries GetOrCreate(Labels labels, Func<ulong, MemSeries> create, out bool created, ulong reference = 0)
    {
        var stripe = _stripes[labels.Hash & (StripeCount - 1)];
        lock (stripe.Lock)
        {
            var existing = Find(stripe, labels);
            if (existing is not null)
            {
                created = false;
                return existing;
            }

            if (reference == 0)
            {
                reference = (ulong)Interlocked.Increment(ref _lastRef);
            }
            else
            {
                if (reference > MaxRef)
                {
                    throw new InvalidDataException($"series reference {reference} is out of range");
                }

                // Replay keeps the logged reference; new series continue above the highest one seen.
                long seen;
                do
                {
                    seen = Interlocked.Read(ref _lastRef);
                }
                while ((long)reference > seen && Interlocked.CompareExchange(ref _lastRef, (long)reference, seen) != seen);
            }

            var series = create(reference);
            SetByRef(reference, series);
            stripe.Add(series);
            Interlocked.Increment(ref _count);
            created = true;
            return series;
        }
    }

    /// <summary>Removes <paramref name="series"/> from both maps.</summary>
    public void Remove(MemSeries series)
    {
        var stripe = _stripes[series.Labels.Hash & (StripeCount - 1)];
        lock (stripe.Lock)
        {
            if (stripe.Remove(series))
            {
                ClearRef(series.Ref);
                Interlocked.Decrement(ref _count);
            }
        }
    }

    /// <summary>A snapshot of every series (order unspecified).</summary>
    public List<MemSeries> All()
    {
        var list = new List<MemSeries>(Count);
        foreach (var stripe in _stripes)
        {
            lock (stripe.Lock)
            {
                foreach (var head in stripe.Buckets)
                {
                    for (var s = head; s is not null; s = s.NextInBucket)
                    {
                        list.Add(s);
                    }
                }
            }
        }

        return list;
    }

    private static MemSeries? Find(Stripe stripe, Labels labels)
    {
        for (var s = stripe.Buckets[stripe.BucketOf(labels.Hash)]; s is not null; s = s.NextInBucket)
        {
            if (s.Labels.Hash == labels.Hash && s.Labels.Equals(labels))
            {
                return s;
            }
        }

        return null;
    }

    private void SetByRef(ulong reference, MemSeries series)
    {
        lock (_pagesLock)
        {
            var pageIndex = (int)(reference >> PageBits);
            var pages = _pages;
            if (pageIndex >= pages.Length)
            {
                var size = pages.Length;
                while (size <= pageIndex)
                {
                    size *= 2;
                }

                var grown = new MemSeries?[]?[size];
                Array.Copy(pages, grown, pages.Length);
                Array.Resize(ref _pageCounts, size);
                Volatile.Write(ref _pages, grown);
                pages = grown;
            }

            var page = pages[pageIndex];
            if (page is null)
            {
                page = new MemSeries?[PageSize];
                Volatile.Write(ref pages[pageIndex], page);
            }

            Volatile.Write(ref page[reference & (PageSize - 1)], series);
            _pageCounts[pageIndex]++;
        }
    }

    private void ClearRef(ulong reference)
    {
        lock (_pagesLock)
        {
            var pageIndex = (int)(reference >> PageBits);
            var page = _pages[pageIndex];
            if (page is null)
            {
                return;
            }

            Volatile.Write(ref page[reference & (PageSize - 1)], null);
            if (--_pageCounts[pageIndex] == 0)
            {
                // Free pages of churned-away series; references are never reused.
                Volatile.Write(ref _pages[pageIndex], null);
            }
        }
    }

    /// <summary>One lock stripe's series: a power-of-two bucket array, chains through <see cref="MemSeries.NextInBucket"/>.</summary>
    private sealed class Stripe
    {
        /// <summary>Buckets per stripe at first: 256 stripes × 16 × 8 bytes = 32 KiB for an empty head.</summary>
        private const int InitialBuckets = 16;

        public readonly Lock Lock = new();
        public MemSeries?[] Buckets = new MemSeries?[InitialBuckets];
        private int _count;

        /// <summary>The bucket of a hash: the bits above the 8 that chose the stripe.</summary>
        public int BucketOf(ulong hash) => (int)((hash >> 8) & (ulong)(Buckets.Length - 1));

        public void Add(MemSeries series)
        {
            if (_count >= Buckets.Length)
            {
                Resize(Buckets.Length * 2);
            }

            ref var head = ref Buckets[BucketOf(series.Labels.Hash)];
            series.NextInBucket = head;
            head = series;
            _count++;
        }

        public bool Remove(MemSeries series)
        {
            ref var link = ref Buckets[BucketOf(series.Labels.Hash)];
            while (link is not null)
            {
                if (ReferenceEquals(link, series))
                {
                    link = series.NextInBucket;
                    series.NextInBucket = null;
                    _count--;
                    if (_count < Buckets.Length / 8 && Buckets.Length > InitialBuckets)
                    {
                        // Give memory back after churn.
                        Resize(Buckets.Length / 2);
                    }

                    return true;
                }

                link = ref link.NextInBucket;
            }

            return false;
        }

        private void Resize(int size)
        {
            var old = Buckets;
            Buckets = new MemSeries?[size];
            foreach (var head in old)
            {
                var s = head;
                while (s is not null)
                {
                    var next = s.NextInBucket;
                    ref var bucket = ref Buckets[BucketOf(s.Labels.Hash)];
                    s.NextInBucket = bucket;
                    bucket = s;
                    s = next;
                }
            }
        }
    }
}
