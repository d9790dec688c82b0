using System.Runtime.CompilerServices;

// Locals on the data path (stackalloc bursts) are written before read; zeroing them is wasted work.
[module: SkipLocalsInit]
