using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// The working arrays of one ring's bursts (segments, chain ids, used entries, deferred copies),
/// allocated once with the ring instead of on the stack of every burst. A method that stackallocs
/// inside a loop cannot be patched on-stack (OSR), so the JIT compiles it fully optimized at once and
/// it never tiers, and so never gets dynamic PGO: the burst loops are the hottest code we have.
/// One base pointer with constant offsets also holds one register where seven stack pointers held
/// seven. One ring is polled by one lcore at a time (<see cref="VhostVring.Enter"/>), so its block
/// is never shared; it sits on lines of its own, so two rings' blocks never share a line either.
/// </summary>
internal sealed unsafe class BurstScratch
{
    public const int MaxSegments = 256;
    public const int MaxChains = 64;

    const int Line = 64;
    const int SegmentsOffset = 0;
    const int ChainIdsOffset = SegmentsOffset + MaxSegments * 16;
    const int ChainRoomOffset = ChainIdsOffset + MaxChains * sizeof(ushort);
    const int UsedIdsOffset = ChainRoomOffset + MaxChains * sizeof(uint);
    const int UsedLengthsOffset = UsedIdsOffset + UsedBatch.Capacity * sizeof(ushort);
    const int CopiesOffset = UsedLengthsOffset + UsedBatch.Capacity * sizeof(uint);
    const int BatchOffset = CopiesOffset + DeferredCopies.Capacity * 24;
    const int LineChainsOffset = BatchOffset + PackedVirtqueueDevice.BatchSize * 16;
    const int Size = LineChainsOffset + MaxChains * 16;

    // On the pinned object heap: it never moves, so the pointer into it stays good while we hold it.
    readonly byte[] _block;
    readonly byte* _base;

    public BurstScratch()
    {
        // The offsets above are constants written for these sizes (C# has no constant sizeof of a struct).
        if (sizeof(VirtqSegment) != 16 || sizeof(DeferredCopies.Entry) != 24 || sizeof(VirtqChain) > 16)
            throw new InvalidOperationException("burst scratch layout does not match the struct sizes");
        _block = GC.AllocateArray<byte>(Size + 2 * Line, pinned: true);
        byte* start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_block));
        _base = (byte*)(((nuint)start + Line - 1) & ~(nuint)(Line - 1));
    }

    /// <summary>Bytes of the block the bursts use (tests: every array lies inside it).</summary>
    public static int Bytes => Size;
    public byte* Base => _base;

    /// <summary>Tests: the pinned array the block was carved from, which the block's lines must not leave.</summary>
    internal (nuint Start, nuint Bytes) Allocation =>
        ((nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_block)), (nuint)_block.Length);

    // Each a base plus a constant: small enough that the JIT inlines them without being asked.
    public VirtqSegment* Segments => (VirtqSegment*)(_base + SegmentsOffset);
    public ushort* ChainIds => (ushort*)(_base + ChainIdsOffset);
    public uint* ChainRoom => (uint*)(_base + ChainRoomOffset);
    public ushort* UsedIds => (ushort*)(_base + UsedIdsOffset);
    public uint* UsedLengths => (uint*)(_base + UsedLengthsOffset);
    public DeferredCopies.Entry* CopyEntries => (DeferredCopies.Entry*)(_base + CopiesOffset);
    public VirtqChain* BatchChains => (VirtqChain*)(_base + BatchOffset);
    /// <summary>The chains of a dequeue burst's lines, all returned together once the lines are taken.</summary>
    public VirtqChain* LineChains => (VirtqChain*)(_base + LineChainsOffset);

    /// <summary>An empty batch of used entries, and an empty list of copies, over the block's arrays.</summary>
    public UsedBatch Used
    {
        // Two pointers: just over the size the JIT inlines unasked (checked with DOTNET_JitDisasm).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(UsedIds, UsedLengths);
    }

    public DeferredCopies Copies => new(CopyEntries);
    public Span<VirtqChain> Batch => new(BatchChains, PackedVirtqueueDevice.BatchSize);
}
