using System.Diagnostics;
using Datapath.Drivers.Vfio;
using Datapath.Drivers.Virtio;

namespace Datapath.Drivers.VirtioPci;

/// <summary>
/// The modern virtio-pci transport (virtio 1.2 §4.1) over a VFIO device: the structures found by the
/// capability walk are mmap'd from their BARs, and each step of device initialization (§3.1.1) is
/// one method. Control plane only; the data path sees queues and their doorbells.
/// </summary>
public sealed unsafe class VirtioPciTransport : IDisposable
{
    readonly byte* _notify;
    readonly byte* _deviceConfig;
    readonly byte* _isr;

    public VfioPciDevice Vfio { get; }
    public VirtioPciCapabilities Capabilities { get; }
    public VirtioPciCommonConfig Common { get; }
    public bool HasMsix { get; }

    VirtioPciTransport(VfioPciDevice vfio, VirtioPciCapabilities caps, bool hasMsix)
    {
        Vfio = vfio;
        Capabilities = caps;
        HasMsix = hasMsix;
        var d = vfio.Device;
        Common = new VirtioPciCommonConfig(d.MapBar(caps.Common.Bar, caps.Common.Offset, caps.Common.Length));
        _notify = d.MapBar(caps.Notify.Bar, caps.Notify.Offset, caps.Notify.Length);
        if (caps.Isr.Length > 0) _isr = d.MapBar(caps.Isr.Bar, caps.Isr.Offset, caps.Isr.Length);
        if (caps.Device is { } dev && dev.Length > 0) _deviceConfig = d.MapBar(dev.Bar, dev.Offset, dev.Length);
    }

    /// <summary>Opens the device through VFIO, walks its capabilities and maps what it finds.</summary>
    public static VirtioPciTransport Open(PciAddress address, PciSysfs? sysfs = null)
    {
        var vfio = VfioPciDevice.Open(address, sysfs);
        try
        {
            var caps = VirtioPciCapabilities.Parse(vfio.Device.ReadConfigSpace(), out bool msix);
            return new VirtioPciTransport(vfio, caps, msix);
        }
        catch
        {
            vfio.Dispose();
            throw;
        }
    }

    /// <summary>§4.1.4.3.2: writing 0 resets; the driver waits until device_status reads 0 again.</summary>
    public void Reset()
    {
        Common.Status = 0;
        var clock = Stopwatch.StartNew();
        while (Common.Status != 0)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(5)) throw new VirtioPciException($"{Vfio.Device.Address}: device_status did not return to 0 after reset");
            Thread.Sleep(1);
        }
    }

    /// <summary>
    /// §3.1.1 steps 2–6: ACKNOWLEDGE, DRIVER, read the offer, write what we take, FEATURES_OK, and
    /// read it back — a device that clears it refuses our subset. VERSION_1 is required; behind an
    /// IOMMU ACCESS_PLATFORM is taken when offered (§6.1: the device then uses the platform's IOVAs).
    /// </summary>
    public ulong Negotiate(ulong wanted)
    {
        Common.Status = VirtioDeviceStatus.Acknowledge;
        Common.Status = VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver;
        ulong offered = Common.ReadDeviceFeatures();
        if ((offered & VirtioFeatures.Version1) == 0)
            throw new VirtioPciException($"{Vfio.Device.Address}: device does not offer VIRTIO_F_VERSION_1 (features 0x{offered:x}): legacy devices are not supported");
        // §6.1: without ACCESS_PLATFORM the device bypasses the IOMMU and would take our IOVAs (= VAs)
        // for physical addresses. Under noiommu the IOVAs are physical, so either way works.
        if (!Vfio.NoIommu && (offered & VirtioFeatures.AccessPlatform) == 0)
            throw new VirtioPciException($"{Vfio.Device.Address}: behind an IOMMU the device must offer VIRTIO_F_ACCESS_PLATFORM (QEMU: -device virtio-net-pci,iommu_platform=on), or it would bypass the IOMMU");
        ulong take = offered & (wanted | VirtioFeatures.Version1 | VirtioFeatures.AccessPlatform);
        Common.WriteDriverFeatures(take);
        Common.Status = VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk;
        if ((Common.Status & VirtioDeviceStatus.FeaturesOk) == 0)
        {
            Fail();
            throw new VirtioPciException($"{Vfio.Device.Address}: device refused features 0x{take:x} (FEATURES_OK not kept)");
        }
        return take;
    }

    public int QueueCount => Common.Read16(VirtioPciCommonConfig.NumQueues);

    /// <summary>The largest size the device takes for queue <paramref name="index"/> (0: no such queue).</summary>
    public int MaxQueueSize(int index)
    {
        Common.Write16(VirtioPciCommonConfig.QueueSelect, (ushort)index);
        return Common.Read16(VirtioPciCommonConfig.QueueSize);
    }

    /// <summary>
    /// §4.1.5.1.3: select the queue, write its size and the IOVAs of its three parts, no MSI-X vector
    /// (we poll), enable it; returns its notify address (§4.1.4.4), checked against the notify structure.
    /// </summary>
    public ushort* SetUpQueue(int index, int size, ulong descIova, ulong driverIova, ulong deviceIova)
    {
        Common.Write16(VirtioPciCommonConfig.QueueSelect, (ushort)index);
        int max = Common.Read16(VirtioPciCommonConfig.QueueSize);
        if (max == 0 || size > max) throw new VirtioPciException($"{Vfio.Device.Address}: queue {index} takes at most {max} descriptors, asked {size}");
        Common.Write16(VirtioPciCommonConfig.QueueSize, (ushort)size);
        Common.Write16(VirtioPciCommonConfig.QueueMsixVector, VirtioPciCommonConfig.NoVector);
        Common.Write64(VirtioPciCommonConfig.QueueDesc, descIova);
        Common.Write64(VirtioPciCommonConfig.QueueDriver, driverIova);
        Common.Write64(VirtioPciCommonConfig.QueueDevice, deviceIova);
        ulong offset = (ulong)Common.Read16(VirtioPciCommonConfig.QueueNotifyOff) * Capabilities.NotifyOffMultiplier;
        if (offset + 2 > Capabilities.Notify.Length)
            throw new VirtioPciException($"{Vfio.Device.Address}: queue {index} notify offset 0x{offset:x} lies outside the notify structure (0x{Capabilities.Notify.Length:x} B)");
        Common.Write16(VirtioPciCommonConfig.QueueEnable, 1);
        return (ushort*)(_notify + offset);
    }

    /// <summary>§4.1.4.5: reading the ISR status clears it and de-asserts INTx; bit 0 a queue, bit 1 a config change.</summary>
    public byte ReadIsr() => _isr == null ? (byte)0 : Volatile.Read(ref *_isr);

    public const byte IsrQueue = 1, IsrConfig = 2;

    /// <summary>
    /// §4.1.5.1.2: the MSI-X vector for configuration changes; the device reads back NO_VECTOR when it
    /// could not take it. True when taken.
    /// </summary>
    public bool SetConfigVector(ushort vector)
    {
        Common.Write16(VirtioPciCommonConfig.ConfigMsixVector, vector);
        return Common.Read16(VirtioPciCommonConfig.ConfigMsixVector) == vector;
    }

    /// <summary>§3.1.1 step 8: the device is live.</summary>
    public void DriverOk() => Common.Status = (byte)(Common.Status | VirtioDeviceStatus.DriverOk);

    public void Fail() => Common.Status = (byte)(Common.Status | VirtioDeviceStatus.Failed);

    public bool NeedsReset => (Common.Status & VirtioDeviceStatus.DeviceNeedsReset) != 0;

    /// <summary>
    /// Reads device-specific config (§4.1.4.6) consistently: config_generation before and after must
    /// agree (§2.5.1), retried a bounded number of times. Returns the bytes read (0 without the structure).
    /// </summary>
    public int ReadDeviceConfig(int offset, Span<byte> buffer)
    {
        if (_deviceConfig == null || Capabilities.Device is not { } dev || offset < 0 || (ulong)(offset + buffer.Length) > dev.Length) return 0;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            byte before = Common.Read8(VirtioPciCommonConfig.ConfigGeneration);
            for (int i = 0; i < buffer.Length; i++) buffer[i] = Volatile.Read(ref _deviceConfig[offset + i]);
            if (Common.Read8(VirtioPciCommonConfig.ConfigGeneration) == before) return buffer.Length;
        }
        throw new VirtioPciException($"{Vfio.Device.Address}: device config keeps changing (config_generation)");
    }

    public void Dispose()
    {
        Vfio.Dispose();
    }
}
