using Datapath.Drivers.Virtio;
using Datapath.Drivers.VhostUser.Backend;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// <see cref="BurstScratch"/>: a ring's burst arrays, laid out by hand at constant offsets. Each
/// array is as long as its capacity says, inside the block, apart from the others and aligned for
/// its elements; the block's lines belong to its own array, so two rings' blocks share none.
/// </summary>
public unsafe class BurstScratchTests
{
    [Fact]
    public void Each_array_holds_its_capacity_inside_the_block_and_overlaps_no_other()
    {
        var s = new BurstScratch();
        var arrays = new (string Name, nuint Start, nuint Bytes, int Align)[]
        {
            ("segments", (nuint)s.Segments, (nuint)(BurstScratch.MaxSegments * sizeof(VirtqSegment)), 8),
            ("chain ids", (nuint)s.ChainIds, BurstScratch.MaxChains * sizeof(ushort), sizeof(ushort)),
            ("chain room", (nuint)s.ChainRoom, BurstScratch.MaxChains * sizeof(uint), sizeof(uint)),
            ("used ids", (nuint)s.UsedIds, UsedBatch.Capacity * sizeof(ushort), sizeof(ushort)),
            ("used lengths", (nuint)s.UsedLengths, UsedBatch.Capacity * sizeof(uint), sizeof(uint)),
            ("copies", (nuint)s.CopyEntries, (nuint)(DeferredCopies.Capacity * sizeof(DeferredCopies.Entry)), 8),
            ("batch", (nuint)s.BatchChains, (nuint)(PackedVirtqueueDevice.BatchSize * sizeof(VirtqChain)), sizeof(uint)),
            ("line chains", (nuint)s.LineChains, (nuint)(BurstScratch.MaxChains * sizeof(VirtqChain)), sizeof(uint)),
        };
        nuint start = (nuint)s.Base, end = start + (nuint)BurstScratch.Bytes;
        Assert.Equal(0u, start % 64);
        foreach (var a in arrays)
        {
            Assert.True(a.Start >= start && a.Start + a.Bytes <= end, $"{a.Name} is not inside the block");
            Assert.True(a.Start % (nuint)a.Align == 0, $"{a.Name} is not aligned to {a.Align}");
            foreach (var b in arrays)
                if (a.Name != b.Name)
                    Assert.True(a.Start + a.Bytes <= b.Start || b.Start + b.Bytes <= a.Start, $"{a.Name} overlaps {b.Name}");
        }
    }

    [Fact]
    public void Every_line_the_block_touches_is_its_own()
    {
        // Two queues of one port are polled by two lcores: a line shared with another object would
        // bounce between them, and a block running past its array would write over the next object.
        for (int i = 0; i < 16; i++)
        {
            var s = new BurstScratch();
            var (start, bytes) = s.Allocation;
            nuint first = (nuint)s.Base, lastLineEnd = ((nuint)s.Base + (nuint)BurstScratch.Bytes + 63) & ~(nuint)63;
            Assert.Equal(0u, first % 64);
            Assert.True(first >= start && lastLineEnd <= start + bytes,
                $"block {first:x}..{lastLineEnd:x} leaves its array {start:x}..{start + bytes:x}");
        }
    }
}
