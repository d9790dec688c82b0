using System.Runtime.CompilerServices;

namespace Datapath.Drivers.Virtio;

/// <summary>
/// How a device turns descriptor addresses into pointers: through the flat map, called directly, when
/// the memory is one (<see cref="IGuestMemory.Flat"/>), else through the interface (a device IOTLB).
/// Chosen per address by a null check that always goes the same way, instead of an interface call per
/// descriptor, which the JIT turns into a direct one only when a profile of that call site survives
/// to the method's optimized code (it did not for the packed batch: a call per packet).
/// </summary>
internal readonly struct DescriptorTranslation(IGuestMemory memory)
{
    readonly GuestAddressMap? _flat = memory.Flat;
    readonly IGuestMemory _memory = memory;

    /// <summary>A descriptor's buffer, for reading or (<paramref name="deviceWrites"/>) writing: an IOTLB checks the direction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTranslate(ulong address, uint length, bool deviceWrites, out nint local)
        => _flat is { } flat ? flat.TryTranslate(address, length, out local) : _memory.TryTranslate(address, length, deviceWrites, out local);

    /// <summary>The flat map, or null when addresses go through an IOTLB.</summary>
    public GuestAddressMap? Flat => _flat;

    public bool MissesAreTransient => _memory.MissesAreTransient;
}
