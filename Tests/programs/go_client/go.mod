module safesockgo

go 1.19
