using Datapath.Drivers;
using Datapath.Drivers.VirtioPci;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Drivers.VirtioPci;

/// <summary>-a BDF picks a driver by the device's vendor/device id from sysfs; the engine knows none by name.</summary>
public sealed class VirtioPciRegistryTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("dp-pci-").FullName;

    void AddDevice(string bdf, string vendor, string device)
    {
        string dir = Path.Combine(_root, "bus/pci/devices", bdf);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "vendor"), vendor + "\n");
        File.WriteAllText(Path.Combine(dir, "device"), device + "\n");
    }

    DriverRegistry Registry()
    {
        var r = new DriverRegistry { SysfsRoot = _root };
        r.Register(VirtioPciPort.Driver);
        return r;
    }

    [Theory]
    [InlineData("0x1041")]
    [InlineData("0x1000")]
    public void A_virtio_net_device_gets_net_virtio(string deviceId)
    {
        AddDevice("0000:00:04.0", "0x1af4", deviceId);
        using var ports = new PortTable();
        var port = Registry().CreatePci("00:04.0", new DriverContext(MemoryOptions.Default, ports));
        Assert.IsType<VirtioPciPort>(port);
        Assert.Equal("0000:00:04.0", port.Name);
        Assert.Equal(VirtioPciPort.DriverName, port.Info.DriverName);
    }

    [Fact]
    public void An_unknown_id_or_a_missing_device_says_so()
    {
        AddDevice("0000:00:05.0", "0x8086", "0x10d3");
        using var ports = new PortTable();
        var ctx = new DriverContext(MemoryOptions.Default, ports);
        Assert.Contains("no driver for PCI device 8086:10d3", Assert.Throws<DeviceArgsException>(() => Registry().CreatePci("0000:00:05.0", ctx)).Message);
        Assert.Contains("no such PCI device", Assert.Throws<DeviceArgsException>(() => Registry().CreatePci("0000:00:06.0", ctx)).Message);
    }

    [Fact]
    public void The_catalog_registers_virtio_pci_by_id()
    {
        var r = DriverCatalog.CreateRegistry();
        Assert.Equal(VirtioPciPort.DriverName, r.FindPci(new PciId(0x1af4, 0x1041))?.Name);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
