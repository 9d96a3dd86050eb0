// Command portal is the reference web portal.
package main

func main() {}
