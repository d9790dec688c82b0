using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// A hostile device writes bad values into the used ring; our driver side counts and drops each one
/// and its free list stays exact (no double free, no lost descriptor).
/// </summary>
public unsafe class SplitDriverHostileDeviceTests
{
    static SplitVirtqueueDriver DriverWithTwoBuffers(SplitRingFixture f, bool inOrder = false)
    {
        var d = new SplitVirtqueueDriver(f.Ring, inOrder: inOrder);
        Assert.True(d.TryAdd([VirtqBuffer.Writable(SplitRingFixture.Iova(0), 100)], 10, out var h0));
        Assert.True(d.TryAdd([VirtqBuffer.Readable(SplitRingFixture.Iova(0), 12), VirtqBuffer.Writable(SplitRingFixture.Iova(100), 100)], 11, out var h1));
        Assert.Equal((0, 1), (h0, h1));
        d.Publish();
        return d;
    }

    /// <summary>An in-order driver with one-buffer chains made available, each with its cookie.</summary>
    static SplitVirtqueueDriver InOrderDriver(SplitRingFixture f, IEnumerable<(VirtqBuffer Buffer, nint Cookie)> chains)
    {
        var d = new SplitVirtqueueDriver(f.Ring, inOrder: true);
        foreach (var (buffer, cookie) in chains) Assert.True(d.TryAdd([buffer], cookie, out _));
        d.Publish();
        return d;
    }

    [Fact]
    public void Used_id_out_of_range()
    {
        using var f = new SplitRingFixture(8);
        var driver = DriverWithTwoBuffers(f);
        f.WriteUsed(999, 1);
        f.WriteUsed(0, 50);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal((nint)10, done[0].Cookie);
        Assert.Equal(1ul, driver.Errors.UsedIdOutOfRange);
        Assert.Equal(6, driver.FreeDescriptors);
    }

    [Fact]
    public void Used_id_returned_twice_is_not_freed_twice()
    {
        using var f = new SplitRingFixture(8);
        var driver = DriverWithTwoBuffers(f);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        f.WriteUsed(1, 50);
        Assert.Equal(1, driver.PollUsed(done));
        f.WriteUsed(1, 50);
        Assert.Equal(0, driver.PollUsed(done));
        f.WriteUsed(2, 50); // descriptor 2 is the tail of chain 1, never a head
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(2ul, driver.Errors.UsedIdNotOutstanding);
        Assert.Equal(7, driver.FreeDescriptors);
        Assert.Equal(1, driver.Outstanding);
    }

    [Fact]
    public void Used_len_larger_than_the_buffer_is_reported_as_zero()
    {
        using var f = new SplitRingFixture(8);
        var driver = DriverWithTwoBuffers(f);
        f.WriteUsed(0, 101);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal(0u, done[0].Length);
        Assert.Equal(1ul, driver.Errors.UsedLengthTooLarge);
        Assert.Equal(6, driver.FreeDescriptors); // the buffer still comes back to the caller
    }

    [Fact]
    public void Used_idx_jump_consumes_nothing()
    {
        using var f = new SplitRingFixture(8);
        var driver = DriverWithTwoBuffers(f);
        *f.Ring.UsedIdx = 40000;
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(1ul, driver.Errors.UsedIndexJump);
        Assert.Equal(2, driver.Outstanding);
        Assert.Equal(5, driver.FreeDescriptors);
    }

    [Fact]
    public void In_order_batch_claiming_more_than_used_idx_covers()
    {
        using var f = new SplitRingFixture(8);
        var driver = DriverWithTwoBuffers(f, inOrder: true);
        f.WriteUsed(1, 50); // names the second chain, so a batch of 2, but idx moves by 1
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(1ul, driver.Errors.InOrderBatchOverrun);
        Assert.Equal(2, driver.Outstanding);
        // The device recovers and completes the first chain normally.
        f.WriteUsed(0, 50);
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal((nint)10, done[0].Cookie);
    }

    [Fact]
    public void An_in_order_batch_larger_than_the_callers_span_is_reclaimed_across_calls()
    {
        // §2.7.9: one used element names the last of five chains and used->idx moves by five. Polled
        // two at a time, the batch comes out 2 + 2 + 1; the skipped chains count their writable bytes.
        using var f = new SplitRingFixture(8);
        var driver = InOrderDriver(f, Enumerable.Range(0, 5).Select(i => (VirtqBuffer.Writable(SplitRingFixture.Iova(100 * i), 100), (nint)(10 + i))));
        f.Ring.UsedRing[0] = new VirtqUsedElement { Id = 4, Len = 60 };
        *f.Ring.UsedIdx = 5;
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[2];
        var got = new List<(nint Cookie, uint Length)>();
        for (int call = 0; call < 3; call++)
        {
            int n = driver.PollUsed(done);
            Assert.Equal(call < 2 ? 2 : 1, n);
            for (int i = 0; i < n; i++) got.Add((done[i].Cookie, done[i].Length));
        }
        Assert.Equal([(10, 100u), (11, 100u), (12, 100u), (13, 100u), (14, 60u)], got);
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(0, driver.Outstanding);
        Assert.Equal(8, driver.FreeDescriptors);
        Assert.Equal(0ul, driver.Errors.Total);
    }

    [Fact]
    public void In_order_device_readable_chains_are_reclaimed_from_used_idx_without_reading_the_elements()
    {
        // §2.7.9: in order, used->idx says how many of the oldest chains are done; a tx chain has no
        // length to learn, so whatever the elements hold (here: ids no chain has) is not read.
        using var f = new SplitRingFixture(8);
        var driver = InOrderDriver(f,
        [
            .. Enumerable.Range(0, 3).Select(i => (VirtqBuffer.Readable(SplitRingFixture.Iova(100 * i), 60), (nint)(20 + i))),
            (VirtqBuffer.Writable(SplitRingFixture.Iova(400), 100), 30),
        ]);
        for (int i = 0; i < 3; i++) f.Ring.UsedRing[i] = new VirtqUsedElement { Id = 999, Len = 12345 };
        *f.Ring.UsedIdx = 3;
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        Assert.Equal(3, driver.PollUsed(done));
        Assert.Equal([(nint)20, 21, 22], done[..3].ToArray().Select(c => c.Cookie));
        Assert.All(done[..3].ToArray(), c => Assert.Equal(0u, c.Length));
        Assert.Equal(0ul, driver.Errors.Total);
        // A device-writable chain still needs its element: its length is read, and checked.
        f.Ring.UsedRing[3] = new VirtqUsedElement { Id = 3, Len = 70 };
        *f.Ring.UsedIdx = 4;
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal(((nint)30, 70u), (done[0].Cookie, done[0].Length));
        Assert.Equal(0, driver.Outstanding);
        Assert.Equal(8, driver.FreeDescriptors);
    }

    [Fact]
    public void In_order_used_idx_beyond_the_outstanding_chains_is_still_refused()
    {
        using var f = new SplitRingFixture(8);
        var driver = InOrderDriver(f, [(VirtqBuffer.Readable(SplitRingFixture.Iova(0), 60), 20)]);
        *f.Ring.UsedIdx = 2; // one chain in the ring, two claimed
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(1ul, driver.Errors.UsedIndexJump);
        Assert.Equal(1, driver.Outstanding);
    }
}
