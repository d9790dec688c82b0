using System.Runtime.InteropServices;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.Vfio;

/// <summary>
/// One VFIO PCI device fd (linux/vfio.h, VFIO_DEVICE_*): its regions, config space by pread/pwrite
/// at the config region's offset, BAR mmaps, interrupt info, reset. BAR mappings are undone at Dispose.
/// </summary>
public sealed unsafe class VfioDevice : IDisposable
{
    const int PciCommand = 0x04;
    const ushort PciCommandMemory = 1 << 1, PciCommandMaster = 1 << 2;

    readonly List<(nint Address, nuint Length)> _maps = new();
    readonly VfioRegion?[] _regions;
    int _fd;

    public PciAddress Address { get; }
    public uint Flags { get; }
    public int RegionCount => _regions.Length;
    public int IrqCount { get; }
    public bool CanReset => (Flags & VfioUapi.DeviceFlagsReset) != 0;

    public VfioDevice(PciAddress address, VfioGroup group)
    {
        Address = address;
        _fd = group.OpenDevice(address);
        var info = new VfioDeviceInfo { Argsz = (uint)sizeof(VfioDeviceInfo) };
        try
        {
            Libc.IoctlChecked(_fd, VfioUapi.DeviceGetInfo, &info, "ioctl VFIO_DEVICE_GET_INFO", address.ToString());
        }
        catch
        {
            Libc.Close(_fd);
            throw;
        }
        if ((info.Flags & VfioUapi.DeviceFlagsPci) == 0 || info.NumRegions <= VfioUapi.PciConfigRegionIndex)
        {
            Dispose();
            throw new VfioException($"{address}: VFIO reports no PCI device ({info.NumRegions} regions)");
        }
        Flags = info.Flags;
        IrqCount = (int)Math.Min(info.NumIrqs, 16u);
        _regions = new VfioRegion?[Math.Min(info.NumRegions, 16u)];
    }

    /// <summary>VFIO_DEVICE_GET_REGION_INFO, with its capability chain when the kernel has one (a second call with the size it asks for).</summary>
    public VfioRegion Region(int index)
    {
        if ((uint)index >= (uint)_regions.Length) throw new ArgumentOutOfRangeException(nameof(index));
        if (_regions[index] is { } known) return known;
        var raw = new VfioRegionInfoRaw { Argsz = (uint)sizeof(VfioRegionInfoRaw), Index = (uint)index };
        Libc.IoctlChecked(_fd, VfioUapi.DeviceGetRegionInfo, &raw, "ioctl VFIO_DEVICE_GET_REGION_INFO", $"{Address} region {index}");
        IReadOnlyList<VfioMmapArea>? sparse = null;
        if ((raw.Flags & VfioUapi.RegionFlagCaps) != 0 && raw.Argsz > sizeof(VfioRegionInfoRaw) && raw.Argsz <= 64 * 1024)
        {
            var buffer = new byte[raw.Argsz];
            fixed (byte* b = buffer)
            {
                *(VfioRegionInfoRaw*)b = new VfioRegionInfoRaw { Argsz = raw.Argsz, Index = (uint)index };
                Libc.IoctlChecked(_fd, VfioUapi.DeviceGetRegionInfo, b, "ioctl VFIO_DEVICE_GET_REGION_INFO", $"{Address} region {index} capabilities");
                raw = *(VfioRegionInfoRaw*)b;
            }
            sparse = VfioRegion.ParseSparseMmap(buffer, raw.CapOffset);
        }
        uint flags = raw.Flags;
        // A capability chain we could not read may hold a sparse-mmap restriction: map nothing then.
        if ((flags & VfioUapi.RegionFlagCaps) != 0 && (raw.Argsz <= sizeof(VfioRegionInfoRaw) || raw.Argsz > 64 * 1024 || raw.CapOffset == 0))
            flags &= ~VfioUapi.RegionFlagMmap;
        return (_regions[index] = new VfioRegion(index, flags, raw.Size, raw.Offset, sparse))!;
    }

    public VfioRegion ConfigRegion => Region(VfioUapi.PciConfigRegionIndex);

    /// <summary>Reads config space (pread at the config region's offset); returns the bytes read.</summary>
    public int ReadConfig(int offset, Span<byte> buffer)
    {
        fixed (byte* b = buffer)
        {
            nint n = Libc.Pread(_fd, b, (nuint)buffer.Length, (long)ConfigRegion.Offset + offset);
            if (n < 0) throw new SystemCallException("pread", Marshal.GetLastPInvokeError(), $"{Address} config 0x{offset:x}");
            return (int)n;
        }
    }

    public void WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        fixed (byte* b = data)
        {
            if (Libc.Pwrite(_fd, b, (nuint)data.Length, (long)ConfigRegion.Offset + offset) != data.Length)
                throw new SystemCallException("pwrite", Marshal.GetLastPInvokeError(), $"{Address} config 0x{offset:x}");
        }
    }

    /// <summary>The whole config space the region exposes (256 B, or 4 KiB for PCIe), for capability walks.</summary>
    public byte[] ReadConfigSpace()
    {
        var bytes = new byte[(int)Math.Min(ConfigRegion.Size, 4096)];
        int n = ReadConfig(0, bytes);
        return bytes[..n];
    }

    /// <summary>Sets memory-space decode and bus-master in the command register (PCI 3.0 §6.2.2): the device may DMA now.</summary>
    public void EnableBusMaster()
    {
        Span<byte> cmd = stackalloc byte[2];
        ReadConfig(PciCommand, cmd);
        ushort value = (ushort)(cmd[0] | cmd[1] << 8 | PciCommandMemory | PciCommandMaster);
        cmd[0] = (byte)value;
        cmd[1] = (byte)(value >> 8);
        WriteConfig(PciCommand, cmd);
    }

    /// <summary>mmaps [offset, offset+length) of BAR <paramref name="bar"/>, if VFIO allows it (whole region or a sparse area).</summary>
    public byte* MapBar(int bar, ulong offset, ulong length)
    {
        var r = Region(bar);
        if (!r.CanMap(offset, length))
            throw new VfioException($"{Address}: BAR{bar} [0x{offset:x}, +0x{length:x}) cannot be mmap'd (size 0x{r.Size:x}, flags 0x{r.Flags:x})");
        // mmap wants page-aligned offsets: map from the page start, return the byte asked for.
        ulong start = offset & ~4095ul;
        ulong span = (offset - start + length + 4095) & ~4095ul;
        nint p = Libc.MmapChecked((nuint)span, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, _fd, (long)(r.Offset + start), $"{Address} BAR{bar}");
        _maps.Add((p, (nuint)span));
        return (byte*)p + (offset - start);
    }

    /// <summary>VFIO_DEVICE_GET_IRQ_INFO for INTx, MSI or MSI-X.</summary>
    public VfioIrqInfo Irq(int index)
    {
        var raw = new VfioIrqInfoRaw { Argsz = (uint)sizeof(VfioIrqInfoRaw), Index = (uint)index };
        if (index >= IrqCount || Libc.Ioctl(_fd, VfioUapi.DeviceGetIrqInfo, &raw) < 0) return new VfioIrqInfo(index, 0, 0);
        return new VfioIrqInfo(index, raw.Count, raw.Flags);
    }

    /// <summary>
    /// VFIO_DEVICE_SET_IRQS, DATA_EVENTFD | ACTION_TRIGGER: the kernel signals <paramref name="fds"/>[i]
    /// when vector i of <paramref name="index"/> (INTx, MSI or MSI-X) fires. Enabling MSI-X this way
    /// is also what switches the device from INTx to MSI-X.
    /// </summary>
    public void SetIrqEventFds(int index, ReadOnlySpan<int> fds)
    {
        var info = Irq(index);
        if ((uint)fds.Length > info.Count || (info.Flags & VfioUapi.IrqInfoEventfd) == 0)
            throw new VfioException($"{Address}: interrupt index {index} has {info.Count} vectors (flags 0x{info.Flags:x}), cannot take {fds.Length} eventfds");
        int bytes = sizeof(VfioIrqSet) + 4 * fds.Length;
        byte* buffer = stackalloc byte[bytes];
        *(VfioIrqSet*)buffer = new VfioIrqSet
        {
            Argsz = (uint)bytes,
            Flags = VfioUapi.IrqSetDataEventfd | VfioUapi.IrqSetActionTrigger,
            Index = (uint)index,
            Start = 0,
            Count = (uint)fds.Length,
        };
        fds.CopyTo(new Span<int>(buffer + sizeof(VfioIrqSet), fds.Length));
        Libc.IoctlChecked(_fd, VfioUapi.DeviceSetIrqs, buffer, "ioctl VFIO_DEVICE_SET_IRQS", $"{Address} irq index {index}");
    }

    /// <summary>Tears down every trigger of <paramref name="index"/> (DATA_NONE | ACTION_TRIGGER, count 0); best effort.</summary>
    public void DisableIrqs(int index)
    {
        var set = new VfioIrqSet { Argsz = (uint)sizeof(VfioIrqSet), Flags = VfioUapi.IrqSetDataNone | VfioUapi.IrqSetActionTrigger, Index = (uint)index };
        Libc.Ioctl(_fd, VfioUapi.DeviceSetIrqs, &set);
    }

    /// <summary>
    /// INTx is level-triggered: VFIO masks it when it fires (IRQ_INFO_AUTOMASKED) until the driver
    /// has quieted the device (for virtio, read the ISR) and unmasks it here.
    /// </summary>
    public void UnmaskIntx()
    {
        var set = new VfioIrqSet { Argsz = (uint)sizeof(VfioIrqSet), Flags = VfioUapi.IrqSetDataNone | VfioUapi.IrqSetActionUnmask, Index = VfioUapi.PciIntxIrqIndex, Start = 0, Count = 1 };
        Libc.Ioctl(_fd, VfioUapi.DeviceSetIrqs, &set);
    }

    /// <summary>VFIO_DEVICE_RESET when the device supports one (FLR, PM or bus reset); false otherwise.</summary>
    public bool Reset() => CanReset && Libc.Ioctl(_fd, VfioUapi.DeviceReset, 0) == 0;

    public void Dispose()
    {
        foreach (var (a, l) in _maps) Libc.Munmap(a, l);
        _maps.Clear();
        if (_fd >= 0) Libc.Close(_fd);
        _fd = -1;
    }
}
