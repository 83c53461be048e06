// Fixtures share one server each; two run at a time on this 2-core machine.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(2)]
