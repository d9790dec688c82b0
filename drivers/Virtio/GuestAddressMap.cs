using System.Runtime.CompilerServices;

namespace Datapath.Drivers.Virtio;

/// <summary>
/// Guest addresses to local pointers through a flat table of ranges, largest first: what a device
/// translates every descriptor address with when no IOMMU stands between (vhost-user's memory table,
/// one mapped region), and the front-end's virtual addresses (ring addresses, IOTLB targets) too.
/// Sealed and not virtual, so the devices call it directly: a translation is three compares and an
/// add per range tried, and an interface dispatch per descriptor would cost as much (the JIT
/// devirtualizes one only when its profile of the call site happens to be kept).
/// Every lookup checks that address + length lies inside one range, without overflow.
/// </summary>
public sealed class GuestAddressMap
{
    /// <summary>One range: 24 bytes, so the first (largest) range and the next one share a cache line.</summary>
    readonly struct Range(ulong guestAddress, ulong size, nint local)
    {
        public readonly ulong GuestAddress = guestAddress;
        public readonly ulong Size = size;
        public readonly nint Local = local;
    }

    // The first (largest) range in fields of its own, checked inline: the JIT keeps a loop over an array
    // of ranges in the caller's registers and spills around it. The others are looked up in a call.
    readonly ulong _firstGuest, _firstSize;
    readonly nint _firstLocal;
    readonly Range[] _others;

    /// <summary>
    /// Ranges that do not overlap (guest physical ones never do: the memory table refuses them) translate
    /// whatever their order; where a peer's ranges overlap, an address goes to the first that holds all
    /// of it, which is still inside that range's mapping. Largest first: a front-end's packet buffers
    /// are in its largest region (a guest's RAM; DPDK's virtio-user on hugepages sends its mbuf pool
    /// after four small ones), so most descriptors match the first range tried.
    /// </summary>
    public GuestAddressMap(IEnumerable<(ulong GuestAddress, ulong Size, nint Local)> ranges)
    {
        var sorted = ranges.OrderByDescending(r => r.Size).Select(r => new Range(r.GuestAddress, r.Size, r.Local)).ToArray();
        if (sorted.Length > 0) (_firstGuest, _firstSize, _firstLocal) = (sorted[0].GuestAddress, sorted[0].Size, sorted[0].Local);
        _others = sorted.Length > 1 ? sorted[1..] : [];
    }

    public int Count => _firstSize == 0 ? 0 : 1 + _others.Length;

    /// <summary>
    /// The largest range as values (an empty map's has size 0), for a loop that translates several
    /// addresses with <see cref="Holds"/>: copied into the caller's locals, where the map's fields
    /// are loaded again after every store the JIT cannot prove does not write them.
    /// </summary>
    public (ulong GuestAddress, ulong Size, nint Local) Largest => (_firstGuest, _firstSize, _firstLocal);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTranslate(ulong address, ulong length, out nint local)
        => TryTranslateLargest(address, length, out local) || TryTranslateOthers(address, length, out local);

    /// <summary>
    /// Like <see cref="TryTranslate"/>, but looks in the largest range only and makes no call: for a fast
    /// path that leaves anything else to a general one. False says only "not in the largest range";
    /// <paramref name="local"/> means something only on true.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTranslateLargest(ulong address, ulong length, out nint local)
    {
        // An empty map's largest range has size 0 and holds nothing.
        local = _firstLocal + (nint)(address - _firstGuest);
        return Holds(_firstGuest, _firstSize, address, length);
    }

    /// <summary>
    /// [address, address + length) inside [start, start + size), by subtractions only: address + length
    /// could wrap around 2^64.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Holds(ulong start, ulong size, ulong address, ulong length)
    {
        ulong off = address - start;
        return address >= start && off < size && length <= size - off;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    bool TryTranslateOthers(ulong address, ulong length, out nint local)
    {
        foreach (ref readonly var r in _others.AsSpan())
        {
            if (Holds(r.GuestAddress, r.Size, address, length))
            {
                local = r.Local + (nint)(address - r.GuestAddress);
                return true;
            }
        }
        local = 0;
        return false;
    }
}
