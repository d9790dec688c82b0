using Datapath.Hugepages.Native;
using Datapath.Engine.Logging;
using Datapath.Hugepages;

namespace Datapath.Drivers.Vfio;

/// <summary>
/// A PCI device opened through VFIO with everything a PMD needs: container (shared by every device
/// of the process), group, device fd, and the DMA mappings of the engine's memory. Type1: IOVA = VA,
/// each region mapped with VFIO_IOMMU_MAP_DMA. Noiommu: IOVA = physical address (regions in
/// --iova-mode pa, hugepages only), nothing mapped — and nothing protects the machine from the device.
/// </summary>
public sealed unsafe class VfioPciDevice : IDisposable
{
    static readonly Lock s_lock = new();
    static VfioContainer? s_container;
    static int s_users;
    static readonly Dictionary<int, (VfioGroup Group, int Users)> s_groups = new();

    readonly List<(ulong Start, ulong Length)> _mapped = new();
    bool _disposed;

    public VfioDevice Device { get; }
    public VfioContainer Container { get; }
    public VfioGroup Group { get; }
    public bool NoIommu => Container.NoIommu;

    VfioPciDevice(VfioContainer container, VfioGroup group, VfioDevice device)
    {
        Container = container;
        Group = group;
        Device = device;
    }

    public static VfioPciDevice Open(PciAddress address, PciSysfs? sysfs = null)
    {
        sysfs ??= new PciSysfs();
        lock (s_lock)
        {
            s_container ??= new VfioContainer();
            s_users++;
            VfioGroup? group = null;
            try
            {
                int number = sysfs.IommuGroup(address) ?? -1;
                if (number >= 0 && s_groups.TryGetValue(number, out var known)) group = known.Group;
                else
                {
                    group = VfioGroup.Open(address, s_container, sysfs);
                    s_groups[group.Number] = (group, 0);
                }
                s_groups[group.Number] = (group, s_groups[group.Number].Users + 1);
                if (group.NoIommu)
                    EngineLog.Info("VFIO", $"{address}: vfio-noiommu mode — UNSAFE: the device can DMA anywhere in memory; IOVAs are physical addresses");
                var device = new VfioDevice(address, group);
                return new VfioPciDevice(s_container, group, device);
            }
            catch
            {
                if (group is not null) Release(group);
                ReleaseContainer();
                throw;
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="region"/> reachable by the device. Type1 needs IOVA = VA (--iova-mode va);
    /// noiommu needs physical addresses (--iova-mode pa on hugepages: pagemap, as root).
    /// </summary>
    public void MapMemory(HugepageRegion region)
    {
        if (NoIommu)
        {
            if (region.Backing == MemoryBacking.SmallPages)
                throw new VfioException($"{Device.Address}: vfio-noiommu needs hugepages (a 4 KiB page run is not physically contiguous): drop --no-huge");
            if (region.IovaMode != IovaMode.Pa)
                throw new VfioException($"{Device.Address}: vfio-noiommu gives the device physical addresses: add --iova-mode pa (and run as root for /proc/self/pagemap)");
            return;
        }
        if (region.IovaMode != IovaMode.Va)
            throw new VfioException($"{Device.Address}: with an IOMMU the engine maps IOVA = VA: use --iova-mode va");
        ulong start = (ulong)region.Base;
        foreach (var (s, l) in _mapped) if (s == start && l == region.Length) return;
        lock (s_lock) Container.MapDma(region.Base, start, region.Length);
        _mapped.Add((start, region.Length));
    }

    /// <summary>Takes <paramref name="region"/> back from the device before it is freed (a no-op if never mapped).</summary>
    public void UnmapMemory(HugepageRegion region)
    {
        int i = _mapped.IndexOf(((ulong)region.Base, region.Length));
        if (i < 0) return;
        _mapped.RemoveAt(i);
        lock (s_lock) Container.UnmapDma((ulong)region.Base, region.Length);
    }

    static void Release(VfioGroup group)
    {
        var (g, users) = s_groups[group.Number];
        if (users <= 1) { s_groups.Remove(group.Number); g.Dispose(); }
        else s_groups[group.Number] = (g, users - 1);
    }

    static void ReleaseContainer()
    {
        if (--s_users > 0 || s_container is null) return;
        s_container.Dispose();
        s_container = null;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Device.Dispose();
        lock (s_lock)
        {
            // The device is closed (it can no longer DMA); what it alone had mapped goes now, not when
            // the last device of the container closes.
            foreach (var (start, length) in _mapped)
            {
                try { Container.UnmapDma(start, length); }
                catch (SystemCallException) { /* the container's close unmaps whatever is left */ }
            }
            _mapped.Clear();
            Release(Group);
            ReleaseContainer();   // the last user unmaps every DMA mapping and closes the container
        }
    }
}
