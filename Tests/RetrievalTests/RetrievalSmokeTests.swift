import XCTest

final class RetrievalSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
