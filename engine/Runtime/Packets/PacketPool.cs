using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Datapath.Engine.Lcores;
using Datapath.Engine.Rings;
using Datapath.Hugepages;

namespace Datapath.Engine.Packets;

/// <summary>
/// N packet buffers in one hugepage region, a ring of the free ones, and a cache per lcore
/// (rte_pktmbuf_pool). Buffer layout: [PacketHeader 64 B][headroom][data room], rounded to a
/// cache line. In PA mode no buffer crosses a page, so each buffer is physically contiguous.
/// </summary>
public sealed unsafe class PacketPool : IDisposable
{
    public const int DefaultDataRoom = 2048;
    public const int DefaultHeadroom = 128;
    public const int DefaultCacheSize = 256;
    public const int MaxCacheSize = 512;

    // Pools by id: a packet names its pool by index, never by reference.
    static readonly PacketPool?[] s_pools = new PacketPool?[ushort.MaxValue];
    static int s_nextId;

    readonly PointerRing _ring;
    readonly PoolCache?[] _caches;
    readonly HugepageRegion _region;
    // What a header is reset to when handed out (PacketHeader.FreshFields of this pool's headroom).
    readonly Vector256<ulong> _fresh;

    public string Name { get; }
    public ushort Id { get; }
    public int Count { get; }
    public int DataRoom { get; }
    public int Headroom { get; }
    public int ElementSize { get; }
    public int CacheSize { get; }
    public IReadOnlyList<HugepageRegion> Regions => [_region];

    PacketPool(string name, ushort id, int count, int dataRoom, int headroom, int cacheSize, HugepageRegion region, int elementSize)
    {
        Name = name; Id = id; Count = count; DataRoom = dataRoom; Headroom = headroom; CacheSize = cacheSize;
        _fresh = PacketHeader.FreshFields((ushort)headroom);
        _region = region; ElementSize = elementSize;
        _ring = new PointerRing($"{name}-free", (int)BitOperations.RoundUpToPowerOf2((uint)count + 1));
        _caches = new PoolCache?[Lcore.MaxLcores];
        if (cacheSize > 0)
            for (int i = 0; i < _caches.Length; i++) _caches[i] = new PoolCache(cacheSize);
    }

    /// <summary>
    /// Creates a pool of <paramref name="count"/> buffers (DPDK: rte_pktmbuf_pool_create).
    /// Headroom must hold at least a virtio-net header: 128 B is the minimum.
    /// </summary>
    public static PacketPool Create(string name, int count, MemoryOptions memory,
        int dataRoom = DefaultDataRoom, int headroom = DefaultHeadroom, int cacheSize = DefaultCacheSize)
    {
        if (count < 1) throw new ArgumentException($"pool {name}: count {count} must be at least 1");
        if (headroom < DefaultHeadroom) throw new ArgumentException($"pool {name}: headroom {headroom} below the minimum {DefaultHeadroom}");
        if (dataRoom < 64 || headroom + dataRoom > ushort.MaxValue) throw new ArgumentException($"pool {name}: data room {dataRoom} out of range (64..{ushort.MaxValue - headroom})");
        if (cacheSize < 0 || cacheSize > MaxCacheSize) throw new ArgumentException($"pool {name}: cache size {cacheSize} out of range (0..{MaxCacheSize})");
        // A cache larger than the pool can hold would starve other lcores (DPDK: cache ≤ n / 1.5).
        cacheSize = Math.Min(cacheSize, count * 2 / 3);

        int elementSize = (PacketHeader.Size + headroom + dataRoom + 63) & ~63;
        ulong page = memory.PageSize;
        bool keepInPage = memory.IovaMode == IovaMode.Pa;
        if (keepInPage && (ulong)elementSize > page)
            throw new ArgumentException($"pool {name}: {elementSize} B buffers do not fit a {HugepageInventory.FormatSize(page)} page in PA mode");
        ulong bytes = keepInPage
            ? (ulong)((count + (int)(page / (ulong)elementSize) - 1) / (int)(page / (ulong)elementSize)) * page
            : (ulong)count * (ulong)elementSize;

        int id = Interlocked.Increment(ref s_nextId);
        if (id >= s_pools.Length) throw new InvalidOperationException("too many packet pools");
        var region = HugepageRegion.Create($"pool-{name}", bytes, memory);
        var pool = new PacketPool(name, (ushort)id, count, dataRoom, headroom, cacheSize, region, elementSize);
        pool.InitBuffers(keepInPage);
        s_pools[id] = pool;
        return pool;
    }

    void InitBuffers(bool keepInPage)
    {
        ulong page = _region.PageSize;
        ulong offset = 0;
        Span<nint> one = stackalloc nint[1];
        for (int i = 0; i < Count; i++)
        {
            if (keepInPage && offset % page + (ulong)ElementSize > page) offset = (offset / page + 1) * page;
            var h = (PacketHeader*)(_region.Base + offset);
            *h = default;
            h->BufAddr = (byte*)h + PacketHeader.Size;
            h->BufIova = _region.VaToIova(h->BufAddr);
            h->BufLen = (ushort)(Headroom + DataRoom);
            h->PoolId = Id;
            ResetHeader(h);
            one[0] = (nint)h;
            _ring.EnqueueBulk(one);
            offset += (ulong)ElementSize;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void ResetHeader(PacketHeader* h) => PacketHeader.Reset(h, _fresh);

    internal static PacketPool FromId(ushort id) => s_pools[id]!;

    /// <summary>Buffers free now: the shared ring plus every lcore cache (approximate while others run).</summary>
    public int Available
    {
        get
        {
            int n = _ring.Count;
            foreach (var c in _caches) if (c is not null) n += c.Len;
            return n;
        }
    }

    public int InUse => Count - Available;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    PoolCache? CurrentCache()
    {
        int lcore = Lcore.CurrentId;
        return (uint)lcore < (uint)_caches.Length ? _caches[lcore] : null;
    }

    /// <summary>Allocates exactly pkts.Length fresh packets or none (rte_pktmbuf_alloc_bulk).</summary>
    public bool Alloc(Span<Packet> pkts)
    {
        if (!GetBulk(MemoryMarshal.Cast<Packet, nint>(pkts))) return false;
        var fresh = _fresh;
        for (int i = 0; i < pkts.Length; i++) PacketHeader.Reset(pkts[i].Header, fresh);
        return true;
    }

    /// <summary>One fresh packet, or a null packet when the pool is empty.</summary>
    public Packet Alloc()
    {
        nint obj = 0;
        if (!GetBulk(new Span<nint>(ref obj))) return default;
        ResetHeader((PacketHeader*)obj);
        return new Packet((PacketHeader*)obj);
    }

    /// <summary>Takes exactly objs.Length raw buffers or none, from this lcore's cache when it can.</summary>
    internal bool GetBulk(Span<nint> objs)
    {
        int n = objs.Length;
        PoolCache? c = CurrentCache();
        if (c is null || n > c.Size) return _ring.DequeueBulk(objs) == n;
        if (c.Len < n)
        {
            // Refill to the cache's size plus this request, as rte_mempool_do_generic_get.
            int want = c.Size + n - c.Len;
            c.Len += _ring.DequeueBurst(new Span<nint>(c.Objs + c.Len, want));
            if (c.Len < n) return false;
        }
        // The most recently freed buffers (their lines the likeliest to be in this core's cache), as
        // one block in the order they were freed: a receive ring refilled with the burst it just
        // handed up and freed gets each slot's buffer back, lap after lap, so the driver finds the
        // descriptor's address already there and leaves the line clean in the device's cache.
        new ReadOnlySpan<nint>(c.Objs + c.Len - n, n).CopyTo(objs);
        c.Len -= n;
        return true;
    }

    /// <summary>Returns raw buffers (reference counts already settled) to the pool.</summary>
    internal void PutBulk(ReadOnlySpan<nint> objs)
    {
        int n = objs.Length;
        PoolCache? c = CurrentCache();
        if (c is null || n > c.Size)
        {
            _ring.EnqueueBulk(objs);
            return;
        }
        objs.CopyTo(new Span<nint>(c.Objs + c.Len, n));
        c.Len += n;
        if (c.Len >= c.FlushThreshold)
        {
            // Keep Size buffers for the next gets, hand the rest back to other lcores.
            _ring.EnqueueBulk(new ReadOnlySpan<nint>(c.Objs + c.Size, c.Len - c.Size));
            c.Len = c.Size;
        }
    }

    /// <summary>
    /// Drops one reference to each segment; a segment whose count reaches zero returns to its pool.
    /// Callers own the packet until this returns.
    /// </summary>
    public static void Free(Packet packet)
    {
        PacketHeader* h = packet.Header;
        while (h != null)
        {
            PacketHeader* next = h->Next;
            if (ReleaseSegment(h))
            {
                nint obj = (nint)h;
                s_pools[h->PoolId]!.PutBulk(new ReadOnlySpan<nint>(ref obj));
            }
            h = next;
        }
    }

    /// <summary>
    /// Frees a burst, each run of simple packets that share a pool in one put. A packet is its header's
    /// address (one pointer, <see cref="Packet.Address"/>), so a run of the burst is put as it lies,
    /// without copying it into a batch first; and with no stackalloc the method tiers, with PGO.
    /// </summary>
    public static void FreeBulk(ReadOnlySpan<Packet> packets)
    {
        int start = 0;
        PacketPool? pool = null;
        // The run's pool by id: a compare per packet, and the table read only when the pool changes.
        int poolId = -1;
        for (int i = 0; i < packets.Length; i++)
        {
            PacketHeader* h = packets[i].Header;
            if (h->Next != null || h->RefCnt != 1)
            {
                if (i > start) pool!.PutBulk(AsAddresses(packets[start..i]));
                Free(packets[i]);
                start = i + 1;
                continue;
            }
            if (h->PoolId != poolId)
            {
                if (i > start) pool!.PutBulk(AsAddresses(packets[start..i]));
                poolId = h->PoolId;
                pool = s_pools[poolId];
                start = i;
            }
        }
        if (packets.Length > start) pool!.PutBulk(AsAddresses(packets[start..]));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ReadOnlySpan<nint> AsAddresses(ReadOnlySpan<Packet> packets) => MemoryMarshal.Cast<Packet, nint>(packets);

    /// <summary>Adds a reference (a packet sent to two places, DPDK's rte_mbuf_refcnt_update).</summary>
    public static void AddReference(Packet packet, int delta = 1)
    {
        for (PacketHeader* h = packet.Header; h != null; h = h->Next)
        {
            ushort old, updated;
            do
            {
                old = Volatile.Read(ref h->RefCnt);
                updated = (ushort)(old + delta);
            } while (Interlocked.CompareExchange(ref h->RefCnt, updated, old) != old);
        }
    }

    /// <summary>True when the segment's last reference is gone (it is then reset to a lone segment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool ReleaseSegment(PacketHeader* h)
    {
        // Sole owner: no other thread can hold a reference, so no atomic is needed (rte_pktmbuf_prefree_seg).
        if (h->RefCnt != 1)
        {
            ushort old;
            do { old = Volatile.Read(ref h->RefCnt); }
            while (Interlocked.CompareExchange(ref h->RefCnt, (ushort)(old - 1), old) != old);
            if (old != 1) return false;
            h->RefCnt = 1;
        }
        h->Next = null;
        h->NbSegs = 1;
        return true;
    }

    /// <summary>The region the buffers live in, for DMA mapping and vhost-user memory tables.</summary>
    public HugepageRegion Region => _region;

    public bool Contains(void* address) => _region.Contains(address);

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        s_pools[Id] = null;
        foreach (var c in _caches) c?.Dispose();
        _ring.Dispose();
        _region.Dispose();
    }

    public override string ToString() =>
        $"pool {Name}: {Count} x {DataRoom} B (+{Headroom} headroom), {Available} free, cache {CacheSize}/lcore, {_region}";
}
