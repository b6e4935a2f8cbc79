module cacheconformance

go 1.19
