namespace Datapath.Hugepages;

/// <summary>Memory could not be had; the message names the problem and the fix.</summary>
public sealed class HugepageException(string message, Exception? inner = null) : Exception(message, inner);
