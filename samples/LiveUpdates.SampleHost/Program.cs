using LiveUpdates.SampleHost;

var app = SampleHostApp.Build(args);
await app.RunAsync();
